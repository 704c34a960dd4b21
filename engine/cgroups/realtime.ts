// Real-time CPU time for a container (cpu_rt_runtime, cgroup v1 with
// CONFIG_RT_GROUP_SCHED). The kernel lets a group's children have no more
// real-time share (runtime/period) than the group itself, and a new group
// gets none: runc writing the container's cpu.rt_runtime_us under our parent
// (/tscompose) fails with EINVAL unless the parent has the budget. dockerd
// leaves this to its --cpu-rt-runtime flag; we grow the parent's budget to
// what its containers ask for, from what the root group has left, so that
// `cpu_rt_runtime` works as written (docs/compat.md).
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EngineError } from "../errors.js";

const readUs = async (path: string): Promise<number> => Number((await readFile(path, "utf8")).trim());

/** The real-time share the child groups of dir hold (sum of runtime/period; -1 children count as none). */
async function childrenShare(dir: string): Promise<number> {
  let share = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const [runtime, period] = await Promise.all([readUs(join(dir, e.name, "cpu.rt_runtime_us")), readUs(join(dir, e.name, "cpu.rt_period_us"))]).catch(() => [0, 1]);
    if (runtime !== undefined && period !== undefined && runtime > 0 && period > 0) share += runtime / period;
  }
  return share;
}

/**
 * Makes sure the v1 cpu group `parent` (under the cpu hierarchy's mountpoint)
 * can hold one more child with runtimeUs per periodUs of real-time CPU.
 */
export async function reserveRealtime(cpuRoot: string, parent: string, runtimeUs: number, periodUs: number): Promise<void> {
  const dir = join(cpuRoot, parent);
  await mkdir(dir, { recursive: true });
  const need = (await childrenShare(dir)) + runtimeUs / periodUs;
  const parentPeriod = await readUs(join(dir, "cpu.rt_period_us"));
  const parentRuntime = await readUs(join(dir, "cpu.rt_runtime_us"));
  if (parentRuntime / parentPeriod >= need) return;
  const wanted = Math.ceil(need * parentPeriod);
  try {
    await writeFile(join(dir, "cpu.rt_runtime_us"), String(wanted));
  } catch (e) {
    throw new EngineError(
      "invalid",
      `cpu_rt_runtime: the host has no real-time CPU time left for ${runtimeUs}us per ${periodUs}us (${join(dir, "cpu.rt_runtime_us")}: ${(e as Error).message})`,
    );
  }
}
