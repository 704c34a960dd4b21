import { describe, expect, it } from "vitest";
import { BACKOFF_CAP_MS, STABLE_AFTER_MS, backoffMs, decideRestart, freshRestartState, policyOf, restartOnDaemonStart } from "./restart-policy.js";
import type { RestartState } from "./restart-policy.js";
import { service } from "./testing.js";

/** Replays a crash loop: each exit after `ranFor` ms; returns the delays of the restarts that happen. */
function loop(svc: ReturnType<typeof service>, exits: number, exitCode = 1, ranFor = 50): number[] {
  const policy = policyOf(svc);
  let state: RestartState = freshRestartState(0);
  const delays: number[] = [];
  let now = 0;
  for (let i = 0; i < exits; i++) {
    now += ranFor;
    const d = decideRestart(policy, exitCode, ranFor, state, now, false);
    if (!d.restart) break;
    delays.push(d.delayMs);
    state = d.next;
    now += d.delayMs;
  }
  return delays;
}

describe("restart policies", () => {
  it("no never restarts", () => {
    expect(loop(service("a", { restart: "no" }), 5)).toEqual([]);
  });

  it("always backs off exponentially from 100 ms up to the cap", () => {
    const delays = loop(service("a", { restart: "always" }), 14);
    expect(delays.slice(0, 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(Math.max(...delays)).toBe(BACKOFF_CAP_MS);
    expect(delays.at(-1)).toBe(BACKOFF_CAP_MS);
  });

  it("the backoff starts over once the container stayed up", () => {
    const policy = policyOf(service("a", { restart: "always" }));
    const crashed = decideRestart(policy, 1, 10, { restarts: 5, streak: 5, windowStart: 0 }, 1000, false);
    expect(crashed.delayMs).toBe(backoffMs(5));
    const stable = decideRestart(policy, 1, STABLE_AFTER_MS, { restarts: 5, streak: 5, windowStart: 0 }, 1000, false);
    expect(stable.delayMs).toBe(100);
  });

  it("on-failure:3 restarts three times, and not after exit 0", () => {
    const svc = service("a", { restart: "on-failure", restartMaxRetries: 3 });
    expect(loop(svc, 10)).toHaveLength(3);
    expect(loop(svc, 10, 0)).toEqual([]);
  });

  it("a container stopped on purpose is never restarted", () => {
    const d = decideRestart(policyOf(service("a", { restart: "always" })), 137, 5000, freshRestartState(0), 5000, true);
    expect(d.restart).toBe(false);
  });

  it("deploy.restart_policy: condition, fixed delay, max attempts within a window", () => {
    const svc = service("a", {
      restart: "always",
      deploy: { mode: "replicated", replicas: undefined, resources: { limits: undefined, reservations: undefined }, labels: {}, restartPolicy: { condition: "on-failure", delayMs: 5000, maxAttempts: 2, windowMs: 60_000 } },
    });
    expect(loop(svc, 10)).toEqual([5000, 5000]);
    const policy = policyOf(svc);
    // Outside the window the count starts again.
    const later = decideRestart(policy, 1, 10, { restarts: 2, streak: 2, windowStart: 0 }, 120_000, false);
    expect(later.restart).toBe(true);
    expect(later.next.restarts).toBe(1);
  });

  it("at daemon start: always comes back, unless-stopped only if not stopped by a user, no stays", () => {
    expect(restartOnDaemonStart(service("a", { restart: "always" }), true)).toBe(true);
    expect(restartOnDaemonStart(service("a", { restart: "unless-stopped" }), false)).toBe(true);
    expect(restartOnDaemonStart(service("a", { restart: "unless-stopped" }), true)).toBe(false);
    expect(restartOnDaemonStart(service("a", { restart: "no" }), false)).toBe(false);
    expect(restartOnDaemonStart(service("a", { restart: "on-failure" }), false)).toBe(false);
  });
});
