import { describe, expect, test } from "vitest";
import { KeyedMutex, Semaphore } from "./mutex.js";

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe("KeyedMutex", () => {
  test("one key runs one at a time, in order; other keys run alongside", async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (key: string, name: string) =>
      m.run(key, async () => {
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
      });
    await Promise.all([job("a", "a1"), job("a", "a2"), job("b", "b1")]);
    expect(log.indexOf("a1-")).toBeLessThan(log.indexOf("a2+"));
    expect(log.indexOf("b1+")).toBeLessThan(log.indexOf("a1-"));
  });

  test("a failure does not block the next caller", async () => {
    const m = new KeyedMutex();
    await expect(m.run("k", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await m.run("k", () => Promise.resolve(1))).toBe(1);
  });
});

describe("Semaphore", () => {
  test("bounds concurrency and hands slots out first come, first served", async () => {
    const s = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const release = await s.acquire();
        order.push(i);
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        release();
        release(); // idempotent
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
