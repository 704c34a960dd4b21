import { describe, expect, it } from "vitest";
import type { ContainerState } from "../types.js";
import { EngineError } from "../types.js";
import { CONTAINER_STATES, canTransition, transition } from "./state.js";

// Written out by hand, independently of the table in state.ts: every move a
// container can make, as "from>to". Anything not listed must be refused.
const ALLOWED = new Set([
  "created>running",
  "created>removing",
  "running>paused",
  "running>exited",
  "running>restarting",
  "paused>running",
  "paused>exited",
  "restarting>running",
  "restarting>exited",
  "restarting>removing",
  "exited>running",
  "exited>restarting",
  "exited>removing",
  "dead>removing",
  "removing>dead",
]);

const ALL: ContainerState[] = ["created", "running", "paused", "restarting", "exited", "dead", "removing"];

describe("container state transitions", () => {
  it("knows exactly Docker's seven states", () => {
    expect([...CONTAINER_STATES].sort()).toEqual([...ALL].sort());
  });

  for (const from of ALL) {
    for (const to of ALL) {
      const allowed = ALLOWED.has(`${from}>${to}`);
      it(`${from} -> ${to} is ${allowed ? "allowed" : "refused"}`, () => {
        expect(canTransition(from, to)).toBe(allowed);
        if (allowed) {
          expect(transition(from, to)).toBe(to);
        } else {
          let err: unknown;
          try {
            transition(from, to, "container web-1");
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(EngineError);
          expect((err as EngineError).code).toBe("conflict");
          expect((err as Error).message).toContain(`container web-1: cannot go from ${from} to ${to}`);
        }
      });
    }
  }
});
