import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StackError } from "./errors.js";
import { stackErrorOf } from "./testing.js";
import { loadStack } from "./load.js";

const root = mkdtempSync(join(tmpdir(), "tscompose-test-x-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function load(yaml: string) {
  const dir = join(root, `p${counter++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "compose.yaml"), yaml);
  return loadStack({ files: [], envFiles: [], profiles: [], env: {}, cwd: dir });
}
const svc = (x: string): string => `services:\n  web:\n    image: busybox\n${x}`;

const errorOf = (yaml: string): StackError => stackErrorOf(() => load(yaml));

describe("x-tscompose", () => {
  it("defaults to plain compose behaviour", () => {
    const s = load(svc("")).stack.services.web!;
    expect(s.supervision).toEqual({ restartOnUnhealthy: false, readiness: undefined, schedule: undefined });
    expect(s.develop).toBeUndefined();
  });

  it("parses every readiness form", () => {
    const r = (x: string) => load(svc(`    x-tscompose:\n      readiness: ${x}\n`)).stack.services.web!.supervision.readiness;
    expect(r("{ tcp: 6379 }")).toEqual({ probe: { kind: "tcp", port: 6379 }, intervalMs: 1000, timeoutMs: 1000 });
    expect(r("{ http: 8080 }")?.probe).toEqual({ kind: "http", port: 8080, path: "/" });
    expect(r('{ http: "8080/healthz?x=1", interval: 250ms, timeout: 2s }')).toEqual({
      probe: { kind: "http", port: 8080, path: "/healthz?x=1" },
      intervalMs: 250,
      timeoutMs: 2000,
    });
    expect(r("{ http: { port: 80, path: /ready } }")?.probe).toEqual({ kind: "http", port: 80, path: "/ready" });
    expect(r("{ log: 'Ready to accept connections' }")?.probe).toEqual({ kind: "log", pattern: "Ready to accept connections" });
  });

  it("parses a schedule, short and long", () => {
    const s = (x: string) => load(svc(`    x-tscompose:\n      schedule: ${x}\n`)).stack.services.web!.supervision.schedule;
    expect(s("'*/5 * * * *'")).toEqual({ cron: "*/5 * * * *", timezone: undefined, overlap: "skip", history: 10 });
    expect(s("'*/2 * * * * *'")?.cron).toBe("*/2 * * * * *");
    expect(s("{ cron: '0 3 * * 1-5', timezone: UTC }")?.timezone).toBe("UTC");
    expect(s("{ cron: '@hourly', timezone: Europe/Paris, overlap: queue, history: 3 }")).toEqual({
      cron: "@hourly",
      timezone: "Europe/Paris",
      overlap: "queue",
      history: 3,
    });
  });

  it("leaves the config hash alone: the daemon applies these live", () => {
    const a = load(svc("")).stack.services.web!.configHash;
    const b = load(svc("    x-tscompose: { restart_on_unhealthy: true, readiness: { tcp: 80 } }\n")).stack.services.web!.configHash;
    expect(b).toBe(a);
  });

  it("keeps develop.watch rules with absolute paths", () => {
    const s = load(svc("    develop:\n      watch:\n        - { path: ./src, action: sync, target: /app, ignore: [node_modules/] }\n        - { path: package.json, action: rebuild }\n"));
    const w = s.stack.services.web!.develop!.watch;
    expect(w[0]).toEqual({ path: join(s.stack.workingDir, "src"), action: "sync", target: "/app", ignore: ["node_modules/"], exec: undefined, initialSync: false });
    expect(w[1]).toMatchObject({ path: join(s.stack.workingDir, "package.json"), action: "rebuild", target: undefined, ignore: [] });
  });

  const bad: { name: string; x: string; err: RegExp; at: string }[] = [
    { name: "a misspelt key", x: "    x-tscompose:\n      restart_on_unhealty: true\n", err: /x-tscompose: additional property "restart_on_unhealty"/, at: ":5:7" },
    { name: "two probes", x: "    x-tscompose:\n      readiness: { tcp: 1, log: x }\n", err: /readiness: needs exactly one of tcp, http or log, got tcp and log/, at: ":5:7" },
    { name: "no probe", x: "    x-tscompose:\n      readiness: { interval: 1s }\n", err: /needs exactly one.*got none/, at: ":5:7" },
    { name: "a port out of range", x: "    x-tscompose:\n      readiness:\n        tcp: 70000\n", err: /readiness\.tcp: must be a port number/, at: ":6:9" },
    { name: "an http path without /", x: "    x-tscompose:\n      readiness: { http: { port: 80, path: ready } }\n", err: /http\.path: must start with "\/"/, at: ":5:" },
    { name: "a bad regex", x: "    x-tscompose:\n      readiness: { log: 'ready(' }\n", err: /readiness\.log: is not a valid regular expression/, at: ":5:" },
    { name: "a bad interval", x: "    x-tscompose:\n      readiness: { tcp: 80, interval: soon }\n", err: /readiness\.interval/, at: ":5:" },
    { name: "an unknown overlap", x: "    x-tscompose:\n      schedule: { cron: '* * * * *', overlap: never }\n", err: /schedule/, at: ":5:" },
    { name: "history 0", x: "    x-tscompose:\n      schedule: { cron: '* * * * *', history: 0 }\n", err: /schedule\.history: must be a whole number/, at: ":5:" },
    { name: "a bad cron expression (short form)", x: "    x-tscompose:\n      schedule: '61 * * * *'\n", err: /x-tscompose\.schedule: invalid cron expression "61 \* \* \* \*": 61 is a invalid expression for minute/, at: ":5:7" },
    { name: "a cron expression with too many fields", x: "    x-tscompose:\n      schedule:\n        cron: '* * * * * * *'\n", err: /schedule\.cron: invalid cron expression .*expected 5 or 6 fields/, at: ":6:9" },
    { name: "an impossible date", x: "    x-tscompose:\n      schedule: { cron: '0 0 31 2 *' }\n", err: /schedule\.cron: invalid cron expression/, at: ":5:" },
    { name: "an unknown time zone", x: "    x-tscompose:\n      schedule:\n        cron: '* * * * *'\n        timezone: Mars/Olympus\n", err: /schedule\.timezone: unknown time zone "Mars\/Olympus"/, at: ":7:9" },
    { name: "restart_on_unhealthy not a boolean", x: "    x-tscompose:\n      restart_on_unhealthy: sometimes\n", err: /restart_on_unhealthy: must be true or false/, at: ":5:" },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} with file:line:col and the key`, () => {
      const e = errorOf(svc(c.x));
      expect(e.message).toMatch(c.err);
      expect(e.message).toContain(`compose.yaml${c.at}`);
    });
  }
});
