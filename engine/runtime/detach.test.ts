// Containers outlive the process that started them: conmon double-forks into
// its own session, so SIGKILL of the engine leaves the container, its monitor
// and its log running, and the next engine picks the container up.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { alive } from "./lifecycle.js";
import type { TestEnv } from "./testing.js";
import { testEnv } from "./testing.js";
import { eventually } from "../../test/support/wait.js";

let env: TestEnv;
beforeAll(async () => {
  env = await testEnv();
});
afterAll(async () => {
  await env.cleanup();
  await eventually(() => env.leaks(), (leaks) => leaks.length === 0, 5000, "nothing left behind", 100);
});

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
}

it("a container keeps running when the node process that started it is SIGKILLed", async () => {
  const child = spawn(join(import.meta.dirname, "../../node_modules/.bin/vite-node"), [join(import.meta.dirname, "fixtures/detach-child.ts")], {
    env: { ...process.env, TSC_STATE_DIR: env.stateDir, TSC_ROOTFS: env.rootfs, TSC_CGROUP_PARENT: env.cgroupParent, TSC_NAME: `${env.prefix}-detached` },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((r) => child.on("exit", r));
  const id = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = /^([0-9a-f]{64})\n/m.exec(out);
      if (line?.[1]) resolve(line[1]);
    });
    child.on("exit", (code) => reject(new Error(`child exited early (${String(code)}): ${out}`)));
  });
  child.kill("SIGKILL");
  await exited;

  const rt = await env.reopen();
  const info = await rt.inspect(id);
  expect(info).toMatchObject({ state: "running", name: `${env.prefix}-detached` });
  expect(info?.pid).toBeDefined();
  expect(alive(info!.pid!)).toBe(true);
  const lines: string[] = [];
  for await (const e of rt.logs(id)) lines.push(e.line);
  expect(lines).toEqual(["started"]);

  // The monitor is small: single-digit MB of RSS.
  const conmonPid = Number(await readFile(join(rt.containerDir(id), "conmon.pid"), "utf8"));
  expect(alive(conmonPid)).toBe(true);
  expect(await rssKb(conmonPid)).toBeLessThan(10 * 1024);

  await rt.stop(id, { timeoutMs: 100 });
  expect(await rt.inspect(id)).toMatchObject({ state: "exited", exitCode: 137 });
  // conmon exits right after writing the exit file.
  await eventually(() => alive(conmonPid), (yes) => !yes, 5000, "conmon gone", 20);
});
