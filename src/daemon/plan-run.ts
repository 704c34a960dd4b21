// A plan carried out for a client: its warnings and errors reported, its
// actions applied with progress streamed (and timed in the daemon log), and a
// final result message; or, for --dry-run, only reported as if done.
import type { Engine, RegistryLogin } from "../../engine/types.js";
import { apply, displayNameOf, targetOf } from "../../reconciler/apply.js";
import type { HealthSource, ProgressEvent } from "../../reconciler/apply.js";
import type { BuildFlags } from "../../reconciler/build-request.js";
import { topological } from "../../reconciler/plan.js";
import type { Plan } from "../../reconciler/plan.js";
import type { StackSpec } from "../../model/stack.js";
import type { StreamMessage } from "./api.js";
import type { Logger } from "./log.js";
import { progressMessage } from "./to-wire.js";

export type Emit = (m: StreamMessage) => void;

export interface PlanRunner {
  engine: Engine;
  health: HealthSource;
  log: Logger;
}

/** The asking client's part of a run. */
export interface RunPlanOptions {
  /** The command line's build flags (tscompose build --no-cache ...). */
  build?: BuildFlags;
  /** The client's logins (its docker config.json), for the pulls. */
  credentials?: RegistryLogin;
  /** up -t: the stop timeout of every stop the plan makes, instead of each service's stop_grace_period. */
  stopTimeoutMs?: number | undefined;
}

/** Applies the plan unless it has errors; true when every action succeeded. */
export async function runPlan(runner: PlanRunner, spec: StackSpec, plan: Plan, emit: Emit, { build, credentials, stopTimeoutMs }: RunPlanOptions = {}): Promise<boolean> {
  if (!reportProblems(spec, plan, emit)) return false;
  runner.log.info("applying plan", { stack: spec.name, actions: plan.actions.length });
  const started = new Map<string, number>();
  const result = await apply(plan, {
    engine: runner.engine,
    stack: spec,
    health: runner.health,
    ...(build ? { build } : {}),
    ...(credentials ? { credentials } : {}),
    ...(stopTimeoutMs !== undefined ? { stopTimeoutMs } : {}),
    onEvent: (e: ProgressEvent) => {
      if (e.type === "action" && e.status === "started") started.set(e.id, performance.now());
      if (e.type === "action" && e.status === "done") {
        runner.log.info("action done", { stack: spec.name, action: e.id, ms: Math.round(performance.now() - (started.get(e.id) ?? 0)) });
      }
      emit(progressMessage(e));
    },
  });
  for (const f of result.failed) runner.log.warn("action failed", { stack: spec.name, action: f.id, error: f.error });
  const notAttached = Object.values(spec.services).filter((s) => !s.attach).map((s) => s.name);
  emit({ type: "result", ok: result.ok, failed: result.failed, project: spec.name, ...(notAttached.length > 0 ? { notAttached } : {}) });
  return result.ok;
}

/** --dry-run: the actions the plan holds, reported in an order apply could run them, as if each was done. Nothing is touched. */
export function previewPlan(spec: StackSpec, plan: Plan, emit: Emit): boolean {
  if (!reportProblems(spec, plan, emit)) return false;
  for (const a of topological(plan)) emit({ type: "action", id: a.id, kind: a.kind, target: targetOf(a), name: displayNameOf(a, spec), status: "done" });
  emit({ type: "result", ok: true, failed: [], project: spec.name });
  return true;
}

/** The plan's warnings, and its errors with a failed result: false when it has errors. */
function reportProblems(spec: StackSpec, plan: Plan, emit: Emit): boolean {
  for (const w of plan.warnings) emit({ type: "warning", message: w });
  if (plan.errors.length === 0) return true;
  for (const e of plan.errors) emit({ type: "error", message: e });
  emit({ type: "result", ok: false, failed: [], project: spec.name });
  return false;
}
