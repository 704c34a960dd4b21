// Read models of the daemon's stacks: the stack list (`ls`, the TUI's stack
// pane) and the containers with their stack, service and health (`ps`).
// Both are built from what the engine reports now, plus the saved records.
import type { Engine } from "../../engine/types.js";
import type { HealthSource } from "../../reconciler/apply.js";
import { LABEL } from "../../model/labels.js";
import type { ContainerView, StackSummary } from "./api.js";
import type { StackStore } from "./stacks.js";
import { containerView } from "./to-wire.js";

/** Every stack the daemon has a record of or that has containers, by name. */
export async function stackSummaries(engine: Engine, stacks: StackStore): Promise<StackSummary[]> {
  const all = await engine.listContainers({ all: true, labels: { [LABEL.project]: undefined } });
  const names = new Set([...stacks.list().map((s) => s.name), ...stacks.unreadable().map((u) => u.name), ...all.map((c) => c.labels[LABEL.project] as string)]);
  return [...names].sort().map((name) => {
    const mine = all.filter((c) => c.labels[LABEL.project] === name);
    const counts = new Map<string, number>();
    for (const c of mine) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
    const record = stacks.get(name);
    const jobs = Object.values(record?.spec.services ?? {}).filter((s) => s.supervision?.schedule).length;
    const unreadable = stacks.unreadable().find((u) => u.name === name);
    const status =
      ([...[...counts].map(([state, n]) => `${state}(${n})`), ...(jobs > 0 ? [`scheduled(${jobs})`] : [])].join(", ") || "empty") +
      (unreadable ? `; saved record unreadable (kept as ${unreadable.file}): run up` : "");
    return {
      name,
      status,
      configFiles: record?.spec.configFiles ?? (mine[0]?.labels[LABEL.configFiles]?.split(",") ?? []),
      running: counts.get("running") ?? 0,
      total: mine.length,
      watching: record?.options.watch === true,
      jobs,
    };
  });
}

/** The containers of one stack (or of every stack), with their health. */
export async function containerViews(engine: Engine, health: HealthSource, project: string | undefined, all: boolean): Promise<ContainerView[]> {
  const list = await engine.listContainers({ all, labels: project ? { [LABEL.project]: project } : { [LABEL.project]: undefined } });
  return list.map((c) => containerView(c, health.health(c.id)));
}
