// The CLI as a user runs it: the built bin/tscompose in a real process.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "..");
const bin = join(repo, "bin", "tscompose");
const dir = mkdtempSync(join(tmpdir(), "tscompose-test-cli-"));

// The CLI runs from dist/, built once for the whole run by test/global-setup.ts.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tscompose(args: string[], cwd = dir, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(bin, args, { cwd, encoding: "utf8", env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("tscompose CLI", () => {
  it("prints its version", () => {
    const pkg = JSON.parse(execFileSync("node", ["-p", "JSON.stringify(require('./package.json'))"], { cwd: repo, encoding: "utf8" })) as { version: string };
    for (const args of [["--version"], ["version"], ["-v"]]) {
      const r = tscompose(args);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`tscompose version ${pkg.version}`);
    }
  });

  it("version --short and --format json print what compose v2 prints (\"2.29.0\", {\"version\":\"v2.29.0\"})", () => {
    const pkg = JSON.parse(execFileSync("node", ["-p", "JSON.stringify(require('./package.json'))"], { cwd: repo, encoding: "utf8" })) as { version: string };
    expect(tscompose(["version", "--short"]).stdout).toBe(`${pkg.version}\n`);
    const json = tscompose(["version", "--format", "json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ version: `v${pkg.version}` });
    const bad = tscompose(["version", "--format", "yaml"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/pretty, json/);
  });

  it("has --help for the program and every command", () => {
    const top = tscompose(["--help"]);
    expect(top.code).toBe(0);
    const section = top.stdout.slice(top.stdout.indexOf("Commands:"));
    const commands = [...section.matchAll(/^ {2}([a-z-]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== "help");
    expect(commands).toContain("config");
    for (const c of commands) {
      const r = tscompose([c, "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(new RegExp(`^Usage: tscompose ${c}`));
    }
  });

  it("fails on an unknown command or flag with exit code 1", () => {
    expect(tscompose(["frobnicate"]).code).toBe(1);
    expect(tscompose(["config", "--frobnicate"]).code).toBe(1);
  });

  it("prints the example stack and lists its services", () => {
    const r = tscompose(["-f", join(repo, "examples/webapp/compose.yaml"), "config"]);
    expect(r.code).toBe(0);
    const out = parse(r.stdout) as { name: string; services: Record<string, { image: string }> };
    expect(out.name).toBe("webapp");
    expect(Object.keys(out.services).sort()).toEqual(["redis", "web", "worker"]);
    const json = tscompose(["-f", join(repo, "examples/webapp/compose.yaml"), "config", "--format", "json"]);
    expect(JSON.parse(json.stdout)).toEqual(out);
    const services = tscompose(["-f", join(repo, "examples/webapp/compose.yaml"), "config", "--services"]);
    expect(services.stdout.trim().split("\n").sort()).toEqual(["redis", "web", "worker"]);
  });

  it("finds compose.yaml and its override in the current directory, and honours --profile", () => {
    const cwd = join(repo, "examples/profiles");
    expect(tscompose(["config", "--services"], cwd).stdout.trim().split("\n")).toEqual(["app"]);
    expect(tscompose(["--profile", "debug", "config", "--services"], cwd).stdout.trim().split("\n").sort()).toEqual(["app", "debug-shell", "metrics"]);
    expect(tscompose(["config", "--profiles"], cwd).stdout.trim().split("\n")).toEqual(["debug", "monitoring"]);
    const app = (parse(tscompose(["config"], cwd).stdout) as { services: { app: { environment: Record<string, string> } } }).services.app;
    expect(app.environment).toMatchObject({ APP_ENV: "development", LOG_LEVEL: "debug", APP_NAME: "profiles-demo" });
  });

  it("reports bad input with file:line:column, key path and exit code 1, printing nothing on stdout", () => {
    const sub = join(dir, "bad");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "compose.yaml"), 'services:\n  web:\n    image: busybox\n    ports:\n      - "8080:80"\n      - "99999:80"\n');
    const r = tscompose(["config"], sub);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${join(sub, "compose.yaml")}:6:9: services.web.ports[1]:`);
    expect(r.stderr).toMatch(/99999/);
  });

  it("config --variables lists the variables the file interpolates as compose's table; --environment what interpolation reads", () => {
    const sub = join(dir, "vars");
    mkdirSync(sub, { recursive: true });
    writeFileSync(
      join(sub, "compose.yaml"),
      'services:\n  web:\n    image: "busybox:${TAG:-1.36}"\n    environment:\n      A: "${NEEDED:?set it}"\n      B: "${FLAG:+on}"\n      C: "$$NOT_A_VAR $PLAIN ${OUTER:-${INNER-x}}"\n',
    );
    writeFileSync(join(sub, ".env"), "FROM_DOTENV=d\nSHELL_WINS=dotenv\n");
    const r = tscompose(["config", "--variables"], sub);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.split("\n").filter(Boolean).map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ["NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE"],
      ["FLAG", "false", "on"],
      ["INNER", "false", "x"],
      ["NEEDED", "true"],
      ["OUTER", "false", "${INNER-x}"],
      ["PLAIN", "false"],
      ["TAG", "false", "1.36"],
    ]);
    // The alternate value has its own column: FLAG's "on" is not a default.
    expect(r.stdout).toMatch(/^FLAG {2,}false {2,} {10,}on$/m);
    const json = JSON.parse(tscompose(["config", "--variables", "--format", "json"], sub).stdout) as Record<string, { Required: boolean; DefaultValue: string }>;
    expect(json.NEEDED).toMatchObject({ Required: true, DefaultValue: "" });
    expect(json.TAG).toMatchObject({ Required: false, DefaultValue: "1.36" });
    // Listing needs no value: NEEDED is unset, and the plain config fails on it.
    expect(tscompose(["config"], sub).code).toBe(1);
    // A variable where the schema wants a port or a number is listed too (the file is read as written, not validated).
    const typed = join(dir, "vars-typed");
    mkdirSync(typed, { recursive: true });
    writeFileSync(join(typed, "compose.yaml"), 'services:\n  web:\n    image: busybox\n    ports: ["${WEB_PORT:-8080}:80"]\n    cpus: ${CPUS:-0.5}\n');
    const t = tscompose(["config", "--variables"], typed);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.split("\n").filter(Boolean).slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      ["CPUS", "false", "0.5"],
      ["WEB_PORT", "false", "8080"],
    ]);

    const env = tscompose(["config", "--environment"], sub, { NEEDED: "1", SHELL_WINS: "shell" });
    expect(env.code, env.stderr).toBe(0);
    const lines = env.stdout.split("\n");
    expect(lines).toContain("FROM_DOTENV=d");
    expect(lines).toContain("SHELL_WINS=shell");
    expect(lines).toContain("NEEDED=1");
    expect(lines).not.toContain("FLAG=on");
  });

  it("config --no-consistency prints a stack whose references do not resolve; --no-path-resolution keeps relative paths", () => {
    const sub = join(dir, "noconsistency");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "compose.yaml"), "services:\n  web:\n    image: busybox\n    networks: [nowhere]\n    volumes: ['./data:/data']\n");
    const checked = tscompose(["config"], sub);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toContain("nowhere");
    const r = tscompose(["config", "--no-consistency", "--format", "json"], sub);
    expect(r.code, r.stderr).toBe(0);
    const web = (JSON.parse(r.stdout) as { services: { web: { networks: Record<string, unknown>; volumes: { source: string }[] } } }).services.web;
    expect(Object.keys(web.networks)).toEqual(["nowhere"]);
    expect(web.volumes[0]!.source).toBe(join(sub, "data"));
    const relative = JSON.parse(tscompose(["config", "--no-consistency", "--no-path-resolution", "--format", "json"], sub).stdout) as { services: { web: { volumes: { source: string }[] } } };
    expect(relative.services.web.volumes[0]!.source).toBe("./data");
  });

  it("config --no-env-resolution keeps env_file out of environment and a name without a value unread", () => {
    const sub = join(dir, "noenvres");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "web.env"), "FROM_FILE=1\n");
    writeFileSync(join(sub, "compose.yaml"), "services:\n  web:\n    image: busybox\n    env_file: web.env\n    environment: [OWN=2, FROM_HOST]\n");
    type Web = { services: { web: { environment: Record<string, string | null>; env_file: { path: string }[] } } };
    const resolved = JSON.parse(tscompose(["config", "--format", "json"], sub, { FROM_HOST: "h" }).stdout) as Web;
    expect(resolved.services.web.environment).toEqual({ FROM_FILE: "1", OWN: "2", FROM_HOST: "h" });
    const r = tscompose(["config", "--no-env-resolution", "--format", "json"], sub, { FROM_HOST: "h" });
    expect(r.code, r.stderr).toBe(0);
    const web = (JSON.parse(r.stdout) as Web).services.web;
    expect(web.environment).toEqual({ OWN: "2", FROM_HOST: null });
    expect(web.env_file.map((e) => e.path)).toEqual([join(sub, "web.env")]);
  });

  it("prints config hashes and -q prints nothing", () => {
    const file = join(repo, "examples/webapp/compose.yaml");
    const hashes = tscompose(["-f", file, "config", "--hash", "*"]).stdout.trim().split("\n");
    expect(hashes).toHaveLength(3);
    for (const line of hashes) expect(line).toMatch(/^(redis|web|worker) [0-9a-f]{64}$/);
    const q = tscompose(["-f", file, "config", "-q"]);
    expect(q).toMatchObject({ code: 0, stdout: "" });
  });

  it("warns on stderr about unset variables and keeps stdout clean", () => {
    const sub = join(dir, "warn");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "compose.yaml"), "services:\n  web:\n    image: busybox:${TAG}\n");
    const r = tscompose(["config", "--images"], sub);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("busybox:\n");
    expect(r.stderr).toContain('The "TAG" variable is not set');
  });
});
