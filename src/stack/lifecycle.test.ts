import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { StackError } from "./errors.js";
import { stackErrorOf } from "./testing.js";
import { parseRawEnvFile } from "./lifecycle.js";
import { loadStack } from "./load.js";
import { renderStack } from "./render.js";
import { checkEngineSupport } from "./support.js";

const root = mkdtempSync(join(tmpdir(), "tscompose-test-lifecycle-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function project(files: Record<string, string>): string {
  const dir = join(root, `p${counter++}`, "app");
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}
const load = (dir: string, env: Record<string, string> = {}) => loadStack({ files: [], envFiles: [], profiles: [], env, cwd: dir });
const loadError = (dir: string): StackError => stackErrorOf(() => load(dir));
const svc = (dir: string, name = "web") => {
  const s = load(dir).stack.services[name];
  if (!s) throw new Error(`no service ${name}`);
  return s;
};

describe("post_start and pre_stop", () => {
  it("normalize both command forms, environment and privileged", () => {
    const dir = project({
      "compose.yaml": [
        "services:",
        "  web:",
        "    image: busybox",
        "    post_start:",
        "      - command: touch '/tmp/a b'",
        "        user: root",
        "        privileged: true",
        "        working_dir: /tmp",
        "        environment: [A=1, FROM_HOST]",
        "    pre_stop:",
        "      - command: [sh, -c, 'echo bye']",
        "",
      ].join("\n"),
    });
    const s = load(dir, { FROM_HOST: "h" }).stack.services.web;
    expect(s?.postStart).toEqual([{ command: ["touch", "/tmp/a b"], user: "root", privileged: true, workingDir: "/tmp", environment: { A: "1", FROM_HOST: "h" } }]);
    expect(s?.preStop).toEqual([{ command: ["sh", "-c", "echo bye"], user: undefined, privileged: false, workingDir: undefined, environment: {} }]);
  });

  it("do not change the config hash (they act around the container)", () => {
    const base = "services:\n  web:\n    image: busybox\n";
    const plain = svc(project({ "compose.yaml": base }));
    const hooked = svc(project({ "compose.yaml": `${base}    post_start:\n      - command: "true"\n    pre_stop:\n      - command: "true"\n    attach: false\n` }));
    expect(hooked.configHash).toBe(plain.configHash);
  });

  it("a hook without a command fails at its entry", () => {
    const dir = project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    pre_stop:\n      - user: root\n" });
    const err = loadError(dir);
    expect(err.message).toMatch(/pre_stop/);
    expect(err.message).toContain(`${join(dir, "compose.yaml")}:5:`);
  });
});

describe("label_file", () => {
  it("merges files in order under labels, and labels win", () => {
    const dir = project({
      "compose.yaml": "services:\n  web:\n    image: busybox\n    label_file: [./one.labels, ./two.labels]\n    labels:\n      c: from-labels\n",
      "one.labels": "a=1\nb=one\nc=one\n",
      "two.labels": "# comment\nb=two\n",
    });
    const s = svc(dir);
    expect(s.labels).toEqual({ a: "1", b: "two", c: "from-labels" });
    expect(s.labelFiles).toEqual([join(dir, "one.labels"), join(dir, "two.labels")]);
  });

  it("a label file's content is in the config hash, its path is not", () => {
    const one = svc(project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    label_file: ./l\n", l: "a=1\n" }));
    const same = svc(project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    label_file: ./m\n", m: "a=1\n" }));
    const other = svc(project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    label_file: ./l\n", l: "a=2\n" }));
    expect(same.configHash).toBe(one.configHash);
    expect(other.configHash).not.toBe(one.configHash);
  });

  it("a missing label file fails at the key", () => {
    const dir = project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    label_file: ./nope\n" });
    const err = loadError(dir);
    expect(err.message).toMatch(/label file .*nope not found/);
    expect(err.message).toContain(`${join(dir, "compose.yaml")}:4:`);
  });
});

describe("env_file format: raw", () => {
  it("takes values literally, where the default format unquotes and interpolates", () => {
    const content = "Q=\"quoted\"\nD=$HOME/x\nS='single'\n#c\n\nT=a # not a comment\n";
    const dir = project({
      "compose.yaml": "services:\n  raw:\n    image: busybox\n    env_file:\n      - path: ./e\n        format: raw\n  dotenv:\n    image: busybox\n    env_file: ./e\n",
      e: content,
    });
    const { stack } = load(dir, { HOME: "/root" });
    expect(stack.services.raw?.environment).toEqual({ Q: '"quoted"', D: "$HOME/x", S: "'single'", T: "a # not a comment" });
    expect(stack.services.dotenv?.environment).toEqual({ Q: "quoted", D: "/root/x", S: "single", T: "a" });
  });

  it("an unknown format fails at the key", () => {
    const dir = project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    env_file:\n      - path: ./e\n        format: toml\n", e: "" });
    const err = loadError(dir);
    expect(err.message).toMatch(/unsupported env_file format "toml"/);
    expect(err.message).toContain(`${join(dir, "compose.yaml")}:6:`);
  });

  it("parseRawEnvFile: a name alone takes the host's value, or nothing", () => {
    expect(parseRawEnvFile("A\nB\nC= x \n", (n) => (n === "A" ? "host" : undefined))).toEqual({ A: "host", C: " x " });
  });
});

describe("annotations, attach", () => {
  it("annotations in both forms; a change recreates the container", () => {
    const list = svc(project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    annotations: [com.example.a=1]\n" }));
    const map = svc(project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    annotations:\n      com.example.a: 2\n" }));
    expect(list.annotations).toEqual({ "com.example.a": "1" });
    expect(map.annotations).toEqual({ "com.example.a": "2" });
    expect(map.configHash).not.toBe(list.configHash);
  });

  it("attach defaults to true", () => {
    expect(svc(project({ "compose.yaml": "services:\n  web:\n    image: busybox\n" })).attach).toBe(true);
    expect(svc(project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    attach: false\n" })).attach).toBe(false);
  });
});

describe("pull_policy and logging values the embedded engine refuses", () => {
  const cases: { name: string; yaml: string; err: RegExp; line: number }[] = [
    { name: "pull_policy build", yaml: "    pull_policy: build\n", err: /services\.web\.pull_policy: not supported by the embedded engine: .*build/, line: 4 },
    { name: "journald", yaml: "    logging:\n      driver: journald\n", err: /services\.web\.logging\.driver: not supported by the embedded engine: only the json-file, local and none drivers/, line: 5 },
    { name: "an unknown driver", yaml: "    logging:\n      driver: gelf\n", err: /logging\.driver: not supported by the embedded engine: only the json-file/, line: 5 },
  ];
  for (const c of cases) {
    it(`${c.name}: config loads it to print it, up refuses it located`, () => {
      const dir = project({ "compose.yaml": `services:\n  web:\n    image: busybox\n${c.yaml}` });
      const { stack } = loadStack({ files: [], envFiles: [], profiles: [], env: {}, cwd: dir });
      let err: Error | undefined;
      try {
        checkEngineSupport(stack);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).toMatch(c.err);
      expect(err?.message).toContain(`${join(dir, "compose.yaml")}:${c.line}:`);
    });
  }

  it("accepts refresh, daily, weekly, every_<duration> and the local and none drivers", () => {
    for (const policy of ["refresh", "daily", "weekly", "every_1w2d", "every_90m"]) {
      expect(svc(project({ "compose.yaml": `services:\n  web:\n    image: busybox\n    pull_policy: ${policy}\n` })).pullPolicy).toBe(policy);
    }
    for (const driver of ["local", "none", "json-file"]) {
      expect(svc(project({ "compose.yaml": `services:\n  web:\n    image: busybox\n    logging:\n      driver: ${driver}\n` })).logging?.driver).toBe(driver);
    }
  });
});

describe("develop.watch sync+exec, restart, initial_sync", () => {
  it("normalizes exec and initial_sync", () => {
    const dir = project({
      "compose.yaml": [
        "services:",
        "  web:",
        "    image: busybox",
        "    develop:",
        "      watch:",
        "        - path: ./src",
        "          target: /app",
        "          action: sync+exec",
        "          initial_sync: true",
        "          exec:",
        "            command: kill -HUP 1",
        "        - path: ./conf",
        "          action: restart",
        "",
      ].join("\n"),
    });
    const w = svc(dir).develop?.watch;
    expect(w?.[0]).toMatchObject({ action: "sync+exec", initialSync: true, exec: { command: ["kill", "-HUP", "1"], privileged: false } });
    expect(w?.[1]).toMatchObject({ action: "restart", initialSync: false, exec: undefined });
  });

  it("sync+exec without exec fails at the action", () => {
    const dir = project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    develop:\n      watch:\n        - path: ./src\n          target: /app\n          action: sync+exec\n" });
    const err = loadError(dir);
    expect(err.message).toMatch(/can't watch with action "sync\+exec" on service web without a command/);
    expect(err.message).toContain(`${join(dir, "compose.yaml")}:8:`);
  });
});

describe("config prints the keys and reloads to the same stack", () => {
  it("round-trips", () => {
    const dir = project({
      "compose.yaml": [
        "services:",
        "  web:",
        "    image: busybox",
        "    attach: false",
        "    annotations: {a: '1'}",
        "    label_file: ./l",
        "    env_file: [{path: ./e, format: raw}]",
        "    post_start: [{command: [touch, /x], user: root, privileged: true, working_dir: /, environment: {A: b}}]",
        "    pre_stop: [{command: 'echo bye'}]",
        "    pull_policy: every_12h",
        "    logging: {driver: local}",
        "    develop:",
        "      watch: [{path: ./src, target: /app, action: sync+exec, initial_sync: true, exec: {command: ['true']}}]",
        "",
      ].join("\n"),
      l: "k=v\n",
      e: "E='x'\n",
    });
    const first = load(dir).stack;
    const printed = renderStack(first);
    const web = (printed.services as Record<string, Record<string, unknown>>).web;
    expect(web).toMatchObject({
      attach: false,
      annotations: { a: "1" },
      label_file: [join(dir, "l")],
      env_file: [{ path: join(dir, "e"), format: "raw", required: true }],
      post_start: [{ command: ["touch", "/x"], user: "root", privileged: true, working_dir: "/", environment: { A: "b" } }],
      pre_stop: [{ command: ["echo", "bye"] }],
      pull_policy: "every_12h",
    });
    const again = project({ "compose.yaml": stringify(printed), l: "k=v\n", e: "E='x'\n" });
    const second = load(again).stack.services.web;
    expect(second?.environment).toEqual({ E: "'x'" });
    expect(second?.postStart).toEqual(first.services.web?.postStart);
    expect(second?.develop?.watch).toEqual(first.services.web?.develop?.watch);
    expect(second?.configHash).toBe(first.services.web?.configHash);
  });
});
