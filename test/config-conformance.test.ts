// Conformance of `tscompose config` with Debian's docker-compose 1.29 on
// realistic stacks (test/stacks). We compare meaning, not text: docker-compose
// prints its own resolved file; we load that file with our loader (its output
// uses only long, unambiguous forms and absolute paths) and compare it with
// our loading of the original files. Interpolation, .env, env_file, -f
// merging, extends, short-form parsing and path resolution are all exercised
// by the original and spelled out already in docker-compose's output.
//
// Known, documented differences (docs/compat.md) are normalized here:
// docker-compose 1.29 does not filter services by profile in `config`, and it
// drops the type of a long-form tmpfs volume.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import type { ServiceSpec, StackSpec } from "../model/stack.js";
import { loadStack } from "../src/stack/load.js";
import { renderStack } from "../src/stack/render.js";

const stacksDir = resolve(import.meta.dirname, "stacks");
const scratch = mkdtempSync(join(tmpdir(), "tscompose-test-conformance-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A clean environment so the host's variables cannot leak into either side.
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };

interface Case {
  name: string;
  dir: string;
  project: string;
  files: string[];
  profiles: string[];
  env?: Record<string, string>;
}

const cases: Case[] = [
  { name: "shop with override file", dir: "shop", project: "shop", files: [], profiles: [] },
  { name: "shop with the debug profile", dir: "shop", project: "shop", files: [], profiles: ["debug"] },
  { name: "shop with variables from the shell", dir: "shop", project: "shop", files: [], profiles: ["mail"], env: { WEB_PORT: "8888", DB_PASSWORD: "s3cr3t", NGINX_TAG: "1.27" } },
  { name: "blog with a prod override", dir: "blog", project: "blog", files: ["docker-compose.yml", "docker-compose.prod.yml"], profiles: [] },
  { name: "blog with variables", dir: "blog", project: "blog", files: ["docker-compose.yml"], profiles: [], env: { APP_PORT: "8080" } },
];

function dockerCompose(c: Case): string {
  const args = ["-p", c.project, ...c.files.flatMap((f) => ["-f", f]), ...c.profiles.flatMap((p) => ["--profile", p]), "config"];
  return execFileSync("docker-compose", args, {
    cwd: join(stacksDir, c.dir),
    env: { ...env, ...c.env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function ours(c: Case): StackSpec {
  return loadStack({ files: c.files, projectName: c.project, envFiles: [], profiles: c.profiles, env: { ...env, ...c.env }, cwd: join(stacksDir, c.dir), acceptUnsupported: true }).stack;
}

/** Loads docker-compose's output with our loader, as if it were the user's file. */
function theirs(c: Case, output: string, enabled: string[]): StackSpec {
  const doc = parse(output) as { services: Record<string, Record<string, unknown>> };
  // docker-compose 1.29 prints every service whatever the profiles; keep the enabled ones.
  for (const name of Object.keys(doc.services)) if (!enabled.includes(name)) delete doc.services[name];
  const file = join(scratch, `${c.dir}-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, stringify(doc));
  return loadStack({ files: [file], projectName: c.project, projectDirectory: join(stacksDir, c.dir), envFiles: [], profiles: c.profiles, env: { ...env, ...c.env }, cwd: scratch, acceptUnsupported: true }).stack;
}

/** The meaning of a service: order-free where order carries no meaning; env_file paths already folded into environment. */
function meaning(s: ServiceSpec): Record<string, unknown> {
  const { configHash: _h, envFiles: _e, ...rest } = s;
  const sorted = <T>(xs: T[]): T[] => [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return {
    ...rest,
    ports: sorted(s.ports),
    volumes: sorted(s.volumes),
    expose: sorted(s.expose),
    capAdd: sorted(s.capAdd),
    capDrop: sorted(s.capDrop),
    extraHosts: sorted(s.extraHosts),
    secrets: sorted(s.secrets),
    configs: sorted(s.configs),
    networks: Object.fromEntries(Object.entries(s.networks).map(([k, n]) => [k, { ...n, aliases: sorted(n.aliases) }])),
  };
}

describe("config matches docker-compose 1.29", () => {
  for (const c of cases) {
    it(c.name, () => {
      const mine = ours(c);
      const enabled = Object.keys(mine.services);
      const reference = theirs(c, dockerCompose(c), enabled);
      expect(Object.keys(reference.services).sort()).toEqual(enabled.sort());
      for (const name of enabled) {
        expect({ service: name, ...meaning(mine.services[name]!) }).toEqual({ service: name, ...meaning(reference.services[name]!) });
      }
      expect(mine.volumes).toEqual(reference.volumes);
      expect(mine.secrets).toEqual(reference.secrets);
      expect(mine.configs).toEqual(reference.configs);
      const nets = (s: StackSpec) => Object.fromEntries(Object.entries(s.networks).map(([k, n]) => [k, { ...n }]));
      expect(nets(mine)).toEqual(nets(reference));
    });
  }

  it("our own output loads back to the same stack", () => {
    for (const c of cases) {
      const mine = ours(c);
      const file = join(scratch, `${c.dir}-roundtrip.yml`);
      writeFileSync(file, stringify(renderStack(mine)));
      const again = loadStack({ files: [file], projectName: c.project, projectDirectory: join(stacksDir, c.dir), envFiles: [], profiles: c.profiles, env, cwd: scratch, acceptUnsupported: true }).stack;
      for (const name of Object.keys(mine.services)) expect(meaning(again.services[name]!)).toEqual(meaning(mine.services[name]!));
    }
  });
});
