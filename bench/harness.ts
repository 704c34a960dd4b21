// Small helpers shared by the benchmarks: run a command many times, alternate
// with the peer in the same run (these machines are noisy), print ratios.
import { spawnSync } from "node:child_process";

export interface Sample {
  name: string;
  times: number[];
}

export function timeCommand(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "ignore", "pipe"], timeout: opts.timeoutMs, maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.signal && opts.timeoutMs !== undefined && ms >= opts.timeoutMs) throw new Error(`${cmd} ${args.join(" ")} hung: no exit after ${opts.timeoutMs} ms`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr.toString()}`);
  return ms;
}

/** Milliseconds an async step took. */
export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs each contender `rounds` times, interleaved, after one warm-up each. */
export function compare(contenders: { name: string; run: () => number }[], rounds: number): Sample[] {
  for (const c of contenders) c.run();
  const samples = contenders.map((c) => ({ name: c.name, times: [] as number[] }));
  for (let i = 0; i < rounds; i++) {
    contenders.forEach((c, j) => samples[j]!.times.push(c.run()));
  }
  return samples;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function report(title: string, samples: Sample[], baseline: string): void {
  // A phase the run skipped (e.g. ROUNDS_100=0) prints nothing rather than NaN.
  if (samples.every((s) => s.times.length === 0)) return;
  const base = samples.find((s) => s.name === baseline);
  console.log(`\n${title}`);
  for (const s of samples) {
    const m = median(s.times);
    const ratio = base && s !== base ? `  ${(median(base.times) / m).toFixed(1)}x faster than ${baseline}` : "";
    console.log(`  ${s.name.padEnd(34)} median ${m.toFixed(1).padStart(8)} ms  (min ${Math.min(...s.times).toFixed(1)}, n=${s.times.length})${base === s ? "" : ratio}`);
  }
}
