// The FakeEngine's process interpreter: sh's rules for what the suites rely on.
import { describe, expect, it } from "vitest";
import { runShell, words } from "./fake-shell.js";

function start(argv: string[], files: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const proc = runShell(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), readFile: (p) => (p in files ? Buffer.from(files[p] as string) : undefined) });
  return { proc, out, err };
}

describe("fake shell", () => {
  it("splits words on blanks, keeping quoted text together", () => {
    expect(words(`trap 'exit 0' TERM`)).toEqual(["trap", "exit 0", "TERM"]);
    expect(words(`echo "a b"  c`)).toEqual(["echo", "a b", "c"]);
  });

  it("runs statements in order, echo to stdout or stderr, and ends with exit's code", async () => {
    const { proc, out, err } = start(["sh", "-c", "echo one; echo two >&2; exit 7; echo never"]);
    expect(await proc.done).toBe(7);
    expect(out).toEqual(["one"]);
    expect(err).toEqual(["two"]);
  });

  it("a command it does not know is sh's 'not found', 127; cat reads the container's files", async () => {
    const missing = start(["sh", "-c", "wget http://x"]);
    expect(await missing.proc.done).toBe(127);
    expect(missing.err).toEqual(["sh: wget: not found"]);
    const cat = start(["cat", "/etc/motd", "/nope"], { "/etc/motd": "hi\nthere\n" });
    expect(await cat.proc.done).toBe(1);
    expect(cat.out).toEqual(["hi", "there"]);
    expect(cat.err).toEqual(["cat: can't open '/nope': No such file or directory"]);
  });

  it("as PID 1 it ignores an untrapped SIGTERM; SIGKILL ends it with 137", async () => {
    const { proc } = start(["sleep", "3600"]);
    proc.signal("SIGTERM");
    let ended = false;
    void proc.done.then(() => (ended = true));
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    proc.signal("SIGKILL");
    expect(await proc.done).toBe(137);
  });

  it("a trap fires while the shell waits on a background sleep, and only after a foreground one", async () => {
    const waiting = start(["sh", "-c", "trap 'exit 3' TERM; sleep 3600 & wait"]);
    await new Promise((r) => setImmediate(r));
    waiting.proc.signal("SIGTERM");
    expect(await waiting.proc.done).toBe(3);

    const foreground = start(["sh", "-c", "trap 'exit 4' TERM; sleep 0.05; echo after"]);
    await new Promise((r) => setImmediate(r));
    foreground.proc.signal("SIGTERM");
    let ended = false;
    void foreground.proc.done.then(() => (ended = true));
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    expect(await foreground.proc.done).toBe(4);
    // The statement after the sleep never ran: the trap was taken as the sleep ended.
    expect(foreground.out).toEqual([]);
  });
});
