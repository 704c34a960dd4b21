// `ipc: shareable` on real containers (runc under conmon): the donor's
// /dev/shm is a tmpfs on the host that its IPC joiners bind, so a file one
// writes there the other reads; a private container has its own. The tmpfs
// goes at the donor's exit and removal, and a new engine unmounts what a
// killed one left.
import { existsSync, statfsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMounted, mountOverlay } from "../snapshot/mount.js";
import type { ContainerSpec } from "../types.js";
import type { ContainerRuntime } from "./runtime.js";
import { hostShmPath } from "./shm.js";
import { baseImage, testEnv } from "./testing.js";
import type { TestEnv } from "./testing.js";
import { eventually } from "../../test/support/wait.js";

let env: TestEnv;
let rt: ContainerRuntime;

beforeAll(async () => {
  env = await testEnv();
  rt = env.runtime;
});

afterAll(async () => {
  await env.cleanup();
  await eventually(() => env.leaks(), (leaks) => leaks.length === 0, 5000, "nothing left behind", 100);
});

async function run(over: Partial<ContainerSpec>): Promise<string> {
  const c = await rt.create(env.spec({ cmd: ["sleep", "3600"], ...over }), { rootfs: env.rootfs, imageConfig: baseImage() });
  await rt.start(c.id);
  return c.id;
}

/** The output of a script in a running container, and its exit code. */
async function sh(id: string, script: string): Promise<{ code: number; out: string }> {
  const out: Buffer[] = [];
  const stdout = new PassThrough().on("data", (d: Buffer) => out.push(d));
  const { exitCode } = await rt.exec(id, { cmd: ["sh", "-c", script], stdout, stderr: stdout });
  return { code: exitCode, out: Buffer.concat(out).toString() };
}

describe("ipc: shareable", () => {
  it("the donor's /dev/shm is a host tmpfs of its shm_size that a joiner shares and a private container does not", async () => {
    const donor = await run({ ipcMode: "shareable", shmSize: 8 << 20 });
    const joiner = await run({ ipcMode: `container:${donor}` });
    const alone = await run({});
    const host = hostShmPath(rt.containerDir(donor));
    expect(await isMounted(host)).toBe(true);
    // shm_size is the host tmpfs's size, which the joiner sees too.
    const fs = statfsSync(host);
    expect(fs.blocks * fs.bsize).toBe(8 << 20);

    expect(await sh(donor, "echo from-donor > /dev/shm/seg")).toEqual({ code: 0, out: "" });
    expect(await sh(joiner, "cat /dev/shm/seg")).toEqual({ code: 0, out: "from-donor\n" });
    // And back: the joiner's writes are the donor's.
    await sh(joiner, "echo from-joiner > /dev/shm/back");
    expect((await sh(donor, "cat /dev/shm/back")).out).toBe("from-joiner\n");
    // A private container sees neither, though its own /dev/shm works (the positive control).
    expect((await sh(alone, "cat /dev/shm/seg")).code).not.toBe(0);
    expect(await sh(alone, "echo mine > /dev/shm/own && cat /dev/shm/own")).toEqual({ code: 0, out: "mine\n" });
    expect((await sh(donor, "cat /dev/shm/own")).code).not.toBe(0);

    // The donor's exit unmounts it, as dockerd does; the joiner still has the one it bound.
    await rt.stop(donor, { timeoutMs: 0 });
    expect(await isMounted(host)).toBe(false);
    expect((await sh(joiner, "cat /dev/shm/seg")).out).toBe("from-donor\n");
    // A new start mounts an empty one.
    await rt.start(donor);
    expect(await isMounted(host)).toBe(true);
    expect((await sh(donor, "ls /dev/shm")).out).toBe("");

    for (const id of [joiner, alone, donor]) await rt.remove(id, { force: true });
    expect(await isMounted(host)).toBe(false);
    expect(existsSync(host)).toBe(false);
  });

  it("a new engine unmounts the /dev/shm of a donor that ended while none ran, and of a removal cut short", async () => {
    const donor = await run({ ipcMode: "shareable" });
    const host = hostShmPath(rt.containerDir(donor));
    expect(await isMounted(host)).toBe(true);
    // The engine is gone (its daemon killed); the container ends meanwhile.
    await rt.close();
    await rt.runc.kill(donor, "SIGKILL");
    await eventually(() => existsSync(join(env.stateDir, "exits", donor)), (yes) => yes, 5000, "the exit file", 25);
    // A removal killed after the record went and before the directory did.
    const cut = "f".repeat(64);
    const cutShm = hostShmPath(join(env.stateDir, "containers", cut));
    await mkdir(cutShm, { recursive: true });
    await mountOverlay({ type: "tmpfs", source: "shm", options: ["size=1m"] }, cutShm);

    rt = await env.reopen();
    expect(await rt.inspect(donor)).toMatchObject({ state: "exited" });
    expect(await isMounted(host)).toBe(false);
    expect(await isMounted(cutShm)).toBe(false);
    expect(existsSync(join(env.stateDir, "containers", cut))).toBe(false);
    await rt.remove(donor);
  });
});
