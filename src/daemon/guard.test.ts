import { describe, expect, it } from "vitest";
import type { Logger } from "./log.js";
import { installProcessGuard } from "./main.js";

function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string): void => void lines.push(m);
  return { lines, info: push, warn: push, error: push };
}

/** The listener the guard added (the last one), called directly: emitting the event would reach vitest's own handler too. */
const lastListener = (event: "uncaughtException" | "unhandledRejection"): ((err: unknown) => void) =>
  (event === "uncaughtException" ? process.listeners("uncaughtException") : process.listeners("unhandledRejection")).at(-1) as (err: unknown) => void;

describe("installProcessGuard", () => {
  it("logs an uncaught exception and an unhandled rejection and keeps the process", () => {
    const log = memoryLog();
    const exits: number[] = [];
    const remove = installProcessGuard(log, (c) => exits.push(c));
    try {
      lastListener("uncaughtException")(new URIError("URI malformed"));
      lastListener("unhandledRejection")("a string reason");
    } finally {
      remove();
    }
    expect(log.lines).toEqual(["uncaught exception; the daemon goes on serving", "unhandled promise rejection; the daemon goes on serving"]);
    expect(exits).toEqual([]);
  });

  it("exits for a restart when faults keep coming", () => {
    const log = memoryLog();
    const exits: number[] = [];
    const remove = installProcessGuard(log, (c) => exits.push(c));
    try {
      for (let i = 0; i < 11; i++) lastListener("uncaughtException")(new Error(`fault ${i}`));
    } finally {
      remove();
    }
    expect(exits).toEqual([70]);
  });

  it("removes its listeners", () => {
    const before = process.listenerCount("uncaughtException");
    installProcessGuard(memoryLog(), () => undefined)();
    expect(process.listenerCount("uncaughtException")).toBe(before);
  });
});
