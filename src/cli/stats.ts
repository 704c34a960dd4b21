// `tscompose stats [SERVICE...]`: live resource usage of the stack's
// containers in docker's table (CONTAINER ID NAME CPU % MEM USAGE / LIMIT
// MEM % NET I/O BLOCK I/O PIDS) and docker's units. CPU % needs two samples,
// as docker's: the container's CPU time over the host's in between, times the
// number of CPUs. --no-stream prints once (after one second); otherwise the
// table is redrawn every second until Ctrl-C.
import type { ContainerStats } from "../daemon/api.js";
import type { ContainerView } from "../daemon/api.js";
import type { DaemonClient } from "../daemon/client.js";
import { LABEL } from "../../model/labels.js";
import type { ProjectOptions } from "../stack/load.js";
import { shortId, table } from "./format.js";
import { applyTemplate, formatTemplate } from "./image-format.js";
import { daemon, projectNameLazy } from "./project-name.js";

export interface StatsFlags {
  all?: boolean;
  /** false with --no-stream. */
  stream?: boolean;
  /** false with --no-trunc. */
  trunc?: boolean;
  format?: string;
}

const INTERVAL_MS = 1000;

export async function runStats(opts: ProjectOptions, services: string[], flags: StatsFlags): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const sampleAll = async (): Promise<Map<string, { c: ContainerView; s: ContainerStats }>> => {
    const list = (await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=${flags.all ? 1 : 0}`))
      .filter((c) => c.labels[LABEL.oneoff] !== "True" && (services.length === 0 || services.includes(c.service ?? "")))
      .sort((a, b) => a.name.localeCompare(b.name));
    const out = new Map<string, { c: ContainerView; s: ContainerStats }>();
    await Promise.all(
      list.map(async (c) => {
        const s = await sample(client, c.id);
        if (s) out.set(c.id, { c, s });
      }),
    );
    return new Map([...out].sort(([, a], [, b]) => a.c.name.localeCompare(b.c.name)));
  };

  let stop = false;
  const onSigint = (): void => {
    stop = true;
  };
  process.on("SIGINT", onSigint);
  try {
    let previous = await sampleAll();
    for (;;) {
      await sleepUnless(INTERVAL_MS, () => stop);
      if (stop) return 0;
      const current = await sampleAll();
      const rows = [...current.values()].map(({ c, s }) => statsRow(c, s, previous.get(c.id)?.s, flags.trunc !== false));
      previous = current;
      const template = formatTemplate(flags.format);
      const text =
        flags.format === "json" ? rows.map((r) => `${JSON.stringify(r)}\n`).join("") : template !== undefined ? rows.map((r) => `${applyTemplate(template, r)}\n`).join("") : statsTable(rows);
      // Redraw in place like docker stats: clear the screen, cursor home.
      if (flags.stream !== false && process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
      process.stdout.write(text);
      if (flags.stream === false) return 0;
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
}

async function sample(client: DaemonClient, id: string): Promise<ContainerStats | undefined> {
  // A container removed between the listing and the sample is simply not shown.
  return client.json<ContainerStats>("GET", `/containers/${encodeURIComponent(id)}/stats`).catch(() => undefined);
}

async function sleepUnless(ms: number, stopped: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !stopped()) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}

/** docker stats --format json's fields. */
export interface StatsRow {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}

export function statsRow(c: ContainerView, s: ContainerStats, prev: ContainerStats | undefined, trunc = true): StatsRow {
  const id = trunc ? shortId(c.id) : c.id;
  return {
    BlockIO: `${decimalSize(s.blockRead)} / ${decimalSize(s.blockWrite)}`,
    CPUPerc: `${cpuPercent(s, prev).toFixed(2)}%`,
    Container: id,
    ID: id,
    MemPerc: `${(s.memoryLimit > 0 ? (s.memoryUsage / s.memoryLimit) * 100 : 0).toFixed(2)}%`,
    MemUsage: `${binarySize(s.memoryUsage)} / ${binarySize(s.memoryLimit)}`,
    Name: c.name,
    NetIO: `${decimalSize(s.netRx)} / ${decimalSize(s.netTx)}`,
    PIDs: String(s.pids),
  };
}

export function statsTable(rows: StatsRow[]): string {
  return table(
    ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"],
    rows.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs]),
  );
}

/** docker's calculateCPUPercentUnix: container CPU time over host CPU time between two samples, times the CPUs. */
export function cpuPercent(cur: ContainerStats, prev: ContainerStats | undefined): number {
  if (!prev) return 0;
  const cpuDelta = cur.cpuUsageNs - prev.cpuUsageNs;
  const systemDelta = cur.systemUsageNs - prev.systemUsageNs;
  if (systemDelta <= 0 || cpuDelta <= 0) return 0;
  return (cpuDelta / systemDelta) * cur.onlineCpus * 100;
}

/** go-units BytesSize: "%.4g" in 1024 steps (KiB, MiB, ...). */
export function binarySize(n: number): string {
  return customSize(n, 1024, 4, ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]);
}

/** go-units HumanSizeWithPrecision(n, 3): "%.3g" in 1000 steps (kB, MB, ...). */
export function decimalSize(n: number): string {
  return customSize(n, 1000, 3, ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]);
}

function customSize(n: number, base: number, precision: number, units: string[]): string {
  let size = n;
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${goG(size, precision)}${units[i]}`;
}

/** Go's %.<p>g: p significant digits, no trailing zeros, exponent form once the exponent reaches p. */
export function goG(x: number, p: number): string {
  if (x === 0) return "0";
  const exp = Number(x.toExponential(p - 1).split("e")[1]);
  if (exp < -4 || exp >= p) {
    const [mantissa, e] = x.toExponential(p - 1).split("e") as [string, string];
    const m = mantissa.includes(".") ? mantissa.replace(/0+$/, "").replace(/\.$/, "") : mantissa;
    const ev = Number(e);
    return `${m}e${ev < 0 ? "-" : "+"}${String(Math.abs(ev)).padStart(2, "0")}`;
  }
  return String(Number(x.toPrecision(p)));
}
