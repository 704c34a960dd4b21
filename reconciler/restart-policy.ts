// Restart policies as pure decisions, Docker's semantics:
//   no              never restart
//   always          restart whatever the exit code
//   unless-stopped  like always
//   on-failure[:n]  restart on a non-zero exit, at most n times
// and compose's deploy.restart_policy (condition none|on-failure|any,
// delay, max_attempts, window), which takes precedence when given.
// A container stopped by a user, or by the daemon itself (down, recreate),
// is never restarted. Backoff: 100 ms doubling up to a cap, back to 100 ms
// once a container has stayed up for a while (Docker: 10 s).
import type { ServiceSpec } from "../model/stack.js";

export interface RestartState {
  /** Restarts counted against max attempts (within the window when one is set). */
  restarts: number;
  /** Consecutive quick failures: the backoff exponent. */
  streak: number;
  /** Start of the current deploy.restart_policy window. */
  windowStart: number;
}

export const freshRestartState = (now: number): RestartState => ({ restarts: 0, streak: 0, windowStart: now });

export interface RestartDecision {
  restart: boolean;
  delayMs: number;
  reason: string;
  /** The state to keep if the restart happens. */
  next: RestartState;
}

export const BACKOFF_START_MS = 100;
export const BACKOFF_CAP_MS = 60_000;
/** A container that ran at least this long starts a fresh streak. */
export const STABLE_AFTER_MS = 10_000;

export interface Policy {
  condition: "none" | "on-failure" | "any";
  maxAttempts: number | undefined;
  /** deploy.restart_policy.delay: a fixed delay instead of the exponential one. */
  delayMs: number | undefined;
  windowMs: number | undefined;
}

export function policyOf(svc: ServiceSpec): Policy {
  const rp = svc.deploy.restartPolicy;
  if (rp) return { condition: rp.condition, maxAttempts: rp.maxAttempts, delayMs: rp.delayMs, windowMs: rp.windowMs };
  switch (svc.restart) {
    case "always":
    case "unless-stopped":
      return { condition: "any", maxAttempts: undefined, delayMs: undefined, windowMs: undefined };
    case "on-failure":
      return { condition: "on-failure", maxAttempts: svc.restartMaxRetries, delayMs: undefined, windowMs: undefined };
    case "no":
      return { condition: "none", maxAttempts: undefined, delayMs: undefined, windowMs: undefined };
  }
}

export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** Math.max(0, attempts));
}

/**
 * What to do when a container exits. `ranForMs` is how long it was up;
 * `state` is the streak so far (updated by the caller when it restarts).
 */
export function decideRestart(policy: Policy, exitCode: number, ranForMs: number, state: RestartState, now: number, stoppedOnPurpose: boolean): RestartDecision {
  const no = (reason: string): RestartDecision => ({ restart: false, delayMs: 0, reason, next: state });
  if (stoppedOnPurpose) return no("stopped on purpose");
  if (policy.condition === "none") return no("restart policy is no");
  if (policy.condition === "on-failure" && exitCode === 0) return no("exited 0 with on-failure");
  const streak = ranForMs >= STABLE_AFTER_MS ? 0 : state.streak;
  // max_attempts counts within the window when one is set (swarm's rule), else for the container's life.
  const windowOver = policy.windowMs !== undefined && now - state.windowStart > policy.windowMs;
  const restarts = windowOver ? 0 : state.restarts;
  if (policy.maxAttempts !== undefined && restarts >= policy.maxAttempts) return no(`gave up after ${restarts} restarts`);
  return {
    restart: true,
    delayMs: policy.delayMs ?? backoffMs(streak),
    reason: `exit ${exitCode}`,
    next: { restarts: restarts + 1, streak: streak + 1, windowStart: windowOver ? now : state.windowStart },
  };
}

/** Which exited containers come back when the daemon starts: always, and unless-stopped unless a user stopped them. */
export function restartOnDaemonStart(svc: ServiceSpec, stoppedByUser: boolean): boolean {
  if (svc.deploy.restartPolicy) return svc.deploy.restartPolicy.condition === "any" && !stoppedByUser;
  if (svc.restart === "always") return true;
  if (svc.restart === "unless-stopped") return !stoppedByUser;
  return false;
}
