import { execFileSync } from "node:child_process";
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startViaExecFifo } from "./execfifo.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "tscompose-execfifo-"));
  mkdirSync(join(root, "c1"));
  execFileSync("mkfifo", [join(root, "c1", "exec.fifo")]);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Plays runc init: writes its byte into the FIFO (and closes, as its exec does). */
function initWrites(): void {
  const fd = openSync(join(root, "c1", "exec.fifo"), constants.O_WRONLY | constants.O_NONBLOCK);
  writeSync(fd, Buffer.from([0]));
  closeSync(fd);
}

describe("startViaExecFifo", () => {
  it("a process that started and ended before its byte was read counts as started, not dead", async () => {
    // The byte lands in the pipe during the liveness check, which then says the process is gone: the race a short RUN step hit under load.
    let checks = 0;
    const started = await startViaExecFifo(root, "c1", () => {
      if (checks++ === 0) initWrites();
      return false;
    });
    expect(started).toBe(true);
    expect(existsSync(join(root, "c1", "exec.fifo"))).toBe(false);
  });

  it("an init that died without writing is 'already dead'", async () => {
    await expect(startViaExecFifo(root, "c1", () => false)).rejects.toThrow("container process is already dead");
  });

  it("no FIFO: false (the caller runs runc start)", async () => {
    expect(await startViaExecFifo(root, "other", () => true)).toBe(false);
  });
});
