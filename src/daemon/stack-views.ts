// Read models of the daemon's stacks: the stack list (`ls`, the TUI's stack
// pane) and the containers with their stack, service and health (`ps`).
// Both are built from what the engine reports now, plus the saved records.
import type { Engine } from "../../engine/types.js";
import type { HealthSource } from "../../reconciler/apply.js";
import { LABEL } from "../../model/labels.js";
import type { ContainerView, StackSummary } from "./api.js";
import type { StackStore } from "./stacks.js";
import { containerView } from "./to-wire.js";

/** Where a stack runs, as ls shows it. */
export interface EngineLabel {
  engine: string;
  engineHost?: string | undefined;
}

/** Every stack the daemon has a record of or that has containers on an open engine, by name. */
export async function stackSummaries(engines: { engine: Engine; label: EngineLabel }[], stacks: StackStore, labelOf: (project: string) => EngineLabel | undefined): Promise<StackSummary[]> {
  // An engine that does not answer (a dockerd gone) leaves its stacks with what their records say.
  const found = await Promise.all(engines.map(async ({ engine, label }) => ((await engine.listContainers({ all: true, labels: { [LABEL.project]: undefined } }).catch(() => [])).map((c) => ({ c, label })))));
  const all = found.flat().map((f) => f.c);
  const foundOn = new Map(found.flat().map((f) => [f.c.labels[LABEL.project] as string, f.label]));
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
      ...(labelOf(name) ?? foundOn.get(name) ?? engines[0]?.label ?? { engine: "embedded" }),
    };
  });
}

/** The containers of one stack (or of every stack), with their health. */
export async function containerViews(engines: { engine: Engine; label: EngineLabel }[], health: HealthSource, project: string | undefined, all: boolean): Promise<ContainerView[]> {
  const lists = await Promise.all(
    engines.map(async ({ engine, label }) => {
      const list = await engine.listContainers({ all, labels: project ? { [LABEL.project]: project } : { [LABEL.project]: undefined } });
      return list.map((c) => ({ ...containerView(c, health.health(c.id)), engine: label.engine }));
    }),
  );
  return lists.flat();
}
