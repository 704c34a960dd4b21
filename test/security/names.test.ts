// Names that reach paths are checked where they enter the daemon, not only in
// the CLI: raw requests on the socket with traversal names ("../../x",
// "a/../b", an encoded slash in a path) get a 400 and touch nothing: not a
// file outside the state dir, not another stack's saved desired state, not
// its containers.
import { request } from "node:http";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDaemon } from "../support/daemon.js";
import { psRows, startStackSuite, stopStackSuite } from "../support/stack.js";
import type { StackSuite } from "../support/stack.js";

let suite: StackSuite;
let daemon: TestDaemon;
let work: string;
const victim = `names${process.pid}b`;
let canary: string;

function call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: daemon.socket, method, path, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const project = (name: string) => ({ files: [join(work, "compose.yaml")], projectName: name, envFiles: [], profiles: [], env: {}, cwd: work });

/** Everything the hostile requests could have harmed is as it was. */
function expectUntouched(): void {
  expect(readFileSync(canary, "utf8")).toBe("{}");
  expect(existsSync(join(daemon.stateDir, "stacks", `${victim}.json`))).toBe(true);
  expect(psRows(daemon, victim, work).map((r) => r.State)).toEqual(["running"]);
}

beforeAll(async () => {
  suite = await startStackSuite("names");
  ({ daemon, work } = suite);
  suite.projects.push({ name: victim, cwd: work });
  writeFileSync(join(work, "compose.yaml"), ["services:", "  app:", "    image: busybox", "    command: ['sh', '-c', 'trap \"exit 0\" TERM; sleep 3600 & wait']", ""].join("\n"));
  const up = daemon.cli(["-p", victim, "up", "-d"], { cwd: work });
  expect(up.code, up.stdout + up.stderr).toBe(0);
  // <state>/stacks/../../canary.json and <state>/jobs/../../canary.json are both this file.
  canary = join(daemon.dir, "canary.json");
  writeFileSync(canary, "{}");
}, 300_000);

afterAll(async () => expect(await stopStackSuite(suite)).toEqual([]), 120_000);

describe("traversal names on the daemon's socket", () => {
  it.each([
    ["down by name ../../canary", "POST", "/v1/stacks/down", { projectName: "../../canary", options: {} }],
    ["down by name a/../<victim>", "POST", "/v1/stacks/down", { projectName: `a/../${victim}`, options: {} }],
    ["down by name with a NUL", "POST", "/v1/stacks/down", { projectName: `${victim}\u0000`, options: {} }],
    ["down with files and -p ../../canary", "POST", "/v1/stacks/down", () => ({ project: project("../../canary"), options: {} })],
    ["up with -p ../../canary", "POST", "/v1/stacks/up", () => ({ project: project("../../canary"), options: {} })],
    ["up with -p a/../<victim>", "POST", "/v1/stacks/up", () => ({ project: project(`a/../${victim}`), options: {} })],
    ["unwatch of an encoded ..%2F..%2Fcanary", "POST", "/v1/stacks/..%2F..%2Fcanary/unwatch", undefined],
    ["jobs of an encoded a%2F..%2F<victim>", "GET", `/v1/stacks/a%2F..%2F${victim}/jobs`, undefined],
    ["detail of an encoded ..%2F..%2Fcanary", "GET", "/v1/stacks/..%2F..%2Fcanary/detail", undefined],
  ])("%s: 400 naming the rule, nothing touched", async (_what, method, path, body) => {
    const r = await call(method, path, typeof body === "function" ? body() : body);
    expect(r.status, r.text).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ message: expect.stringMatching(/invalid project name/) as string });
    expectUntouched();
  });

  it("the CLI refuses the same names before asking the daemon (exit non-zero, nothing touched)", () => {
    for (const name of ["../../canary", `a/../${victim}`]) {
      const r = daemon.cli(["-p", name, "down"], { cwd: work });
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(/invalid project name/);
    }
    expectUntouched();
  });

  it("a valid name still works through the same requests (the check is not a blanket refusal)", async () => {
    const r = await call("GET", `/v1/stacks/${victim}/jobs`);
    expect(r.status, r.text).toBe(200);
  });
});
