import { describe, expect, test } from "vitest";
import { Semaphore } from "./semaphore.js";

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

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

  test("refuses a size that is not a positive integer", () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});
