import { describe, expect, test } from "vitest";
import { KeyedMutex, Mutex } from "./keyed-mutex.js";

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe("KeyedMutex", () => {
  test("one key runs one at a time, in call order; other keys run alongside", async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (key: string, name: string) =>
      m.run(key, async () => {
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
      });
    await Promise.all([job("a", "a1"), job("a", "a2"), job("b", "b1"), job("a", "a3")]);
    expect(log.indexOf("a1-")).toBeLessThan(log.indexOf("a2+"));
    expect(log.indexOf("a2-")).toBeLessThan(log.indexOf("a3+"));
    expect(log.indexOf("b1+")).toBeLessThan(log.indexOf("a1-"));
  });

  test("a failure, thrown or rejected, reaches its caller and does not block the next one", async () => {
    const m = new KeyedMutex();
    const rejected = m.run("k", () => Promise.reject(new Error("boom")));
    const thrown = m.run("k", () => {
      throw new Error("sync boom");
    });
    const next = m.run("k", () => 1);
    await expect(rejected).rejects.toThrow("boom");
    await expect(thrown).rejects.toThrow("sync boom");
    expect(await next).toBe(1);
  });

  test("a key is forgotten once its last holder is done", async () => {
    const m = new KeyedMutex();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = m.run("k", () => gate);
    const second = m.run("k", () => "second");
    expect(m.held("k")).toBe(true);
    release();
    await first;
    expect(await second).toBe("second");
    expect(m.held("k")).toBe(false);
  });
  test("idle() waits for the holders and for callers that queue while it waits", async () => {
    const m = new KeyedMutex();
    const done: string[] = [];
    let releaseA!: () => void;
    const a = m.run("a", () => new Promise<void>((r) => (releaseA = r)).then(() => void done.push("a")));
    let idle = false;
    const waiting = m.idle().then(() => (idle = true));
    await tick();
    // Queued behind a while idle() waits: idle() must wait for it too.
    const b = m.run("a", async () => {
      await tick();
      done.push("b");
    });
    await tick();
    expect(idle).toBe(false);
    releaseA();
    await waiting;
    expect(done).toEqual(["a", "b"]);
    await Promise.all([a, b]);
    expect(m.held("a")).toBe(false);
  });
});

describe("Mutex", () => {
  test("runs callbacks one at a time, in call order", async () => {
    const m = new Mutex();
    const log: number[] = [];
    let inside = 0;
    await Promise.all(
      [1, 2, 3].map((i) =>
        m.run(async () => {
          inside++;
          expect(inside).toBe(1);
          await tick();
          log.push(i);
          inside--;
        }),
      ),
    );
    expect(log).toEqual([1, 2, 3]);
  });
});
