// Docker's container states as an explicit transition table (runc keeps its
// own states the same way). Every state change of a container record goes
// through transition(), so an impossible move (starting a paused container,
// removing a running one) fails loudly instead of leaving a record that no
// longer matches the processes on the machine.
//
// The life of a container:
//   created --start--> running --pause--> paused --unpause--> running
//   running/paused --process ends (stop, kill, exit, OOM)--> exited
//   exited --start--> running; exited --the supervisor backs off--> restarting
//   restarting --start--> running; restarting --stop--> exited
//   (restarting has no processes: it is the supervisor's backoff, so it can
//   also be removed directly)
//   created/exited/dead --remove--> removing --(record deleted)
//   removing --removal failed--> dead
// "dead" is Docker's: a container whose removal failed part-way; it can only be
// removed again. Removal itself never leaves a state behind: the record goes.
import type { ContainerState } from "../types.js";
import { EngineError } from "../types.js";

export const CONTAINER_STATES: readonly ContainerState[] = ["created", "running", "paused", "restarting", "exited", "dead", "removing"];

const TRANSITIONS: Readonly<Record<ContainerState, readonly ContainerState[]>> = {
  created: ["running", "removing"],
  // running -> restarting: the process ended and the restart policy restarts
  // it without an "exited" pause in between (Docker's handleContainerExit).
  running: ["paused", "exited", "restarting"],
  // A paused container can be killed (stop/kill resume it afterwards).
  paused: ["running", "exited"],
  restarting: ["running", "exited", "removing"],
  exited: ["running", "restarting", "removing"],
  dead: ["removing"],
  removing: ["dead"],
};

export function canTransition(from: ContainerState, to: ContainerState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Returns `to` when the move is allowed; throws a "conflict" EngineError naming both states otherwise. */
export function transition(from: ContainerState, to: ContainerState, what = "container"): ContainerState {
  if (!canTransition(from, to)) {
    const allowed = TRANSITIONS[from];
    throw new EngineError(
      "conflict",
      `${what}: cannot go from ${from} to ${to} (from ${from} only ${allowed.length ? allowed.join(", ") : "nothing"} is possible)`,
    );
  }
  return to;
}

/** States in which the container has processes (docker ps without -a). */
export function isActive(state: ContainerState): boolean {
  return state === "running" || state === "paused";
}
