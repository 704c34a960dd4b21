// Host-side `ip -batch` requests, coalesced into as few processes as possible.
//
// Why: launching a process costs ~6-9 ms of CPU on the machines we run on (plus
// ~6 ms of the daemon's own CPU when Node spawns it), and `up`/`down` of many
// services is CPU-bound. Each container set up or torn down needs a host-side
// batch (netns, veth pairs, hairpin; or the netns deleted); with apply running
// up to 8 of those at once they used to be as many `ip` processes. Here only
// one host-side `ip` runs at a time: requests made while it runs wait, and when
// it ends all waiting requests go into ONE `ip -force -batch -`.
//
// Each caller still learns exactly whether its own lines failed:
//   - With -force, ip carries on past a failing line and prints
//     `Command failed -:N` on stderr after that line's message (N counts every
//     line of the input, 1-based). Line numbers map back to the request.
//   - Some errors are not carried past: a bad argument (`master <no such
//     bridge>`, `netns <no such netns>`) makes ip exit(255) at once, with its
//     message and no `Command failed` line, and the lines after it never run.
//     To know where it stopped, a marker line (`link show dev lo`, which prints
//     `1: lo: ...` on stdout; exit() flushes stdout) follows every request but
//     the last: with m markers printed, requests 0..m-1 ran to the end, request
//     m is the one that killed ip (it gets the message), and the requests after
//     it never started: they go, first in line, into the next process.
//   (All of this observed with iproute2 6.1.)
// So one request's failure never fails another's.
//
// Meaning and order: a request's lines run contiguously and in order, and
// requests run in the order they were made, which is no looser than the
// separate processes racing each other were before. A request still runs past
// its own failing line (like -force), where a lone `ip -batch` would have
// stopped: the callers here remove what their call created on failure anyway,
// so the end state is the same. Lines run in the host namespace: `-n` is
// global to an ip process, so namespace-side batches stay separate. Lines must
// not print on stdout (the markers are counted there) and each must be one
// physical line without `#` (ip drops comments) or a trailing backslash.
import { run } from "../sys/exec.js";
import type { KindedError } from "../errors.js";

export interface IpLineFailure {
  /** The failing line as given; "" when the failure is not one line's (ip ended abnormally). */
  line: string;
  /** 1-based within the caller's own lines; 0 when not one line's. */
  lineNo: number;
  message: string;
}

export interface IpBatchResult {
  failures: IpLineFailure[];
  /** The messages of this caller's own failures, one a line. */
  stderr: string;
}

export class IpBatchError extends Error implements KindedError {
  readonly kind = "internal";

  constructor(readonly failures: readonly IpLineFailure[]) {
    super(
      `ip -batch failed: ${failures
        .map((f) => (f.lineNo > 0 ? `line ${f.lineNo} "${f.line}": ${f.message || "failed"}` : f.message))
        .join("; ")}`,
    );
    this.name = "IpBatchError";
  }
}

interface Request {
  lines: readonly string[];
  allowFailure: boolean;
  resolve(r: IpBatchResult): void;
  reject(e: unknown): void;
}

const MARKER = "link show dev lo";
const MARKER_OUT = /^\d+: lo: /gm;
const FAILED = /^Command failed -:(\d+)$/;

const queue: Request[] = [];
let running = false;

/**
 * Runs `lines` in the host network namespace, in one `ip -force -batch -`
 * shared with whatever other requests are waiting. Rejects with an
 * IpBatchError naming this caller's failing lines, unless `allowFailure`.
 */
export function ipBatch(lines: readonly string[], opts: { allowFailure?: boolean } = {}): Promise<IpBatchResult> {
  const bad = lines.find((l) => /[\n\r#]|\\$/.test(l));
  if (bad !== undefined) return Promise.reject(new Error(`ip batch line not allowed: ${JSON.stringify(bad)}`));
  if (lines.length === 0) return Promise.resolve({ failures: [], stderr: "" });
  return new Promise((resolve, reject) => {
    queue.push({ lines, allowFailure: opts.allowFailure ?? false, resolve, reject });
    if (!running) {
      running = true;
      // Started on the next turn of the loop, not now: callers woken by the same I/O
      // round join the first process instead of waiting for the second.
      setImmediate(() => void drain());
    }
  });
}

async function drain(): Promise<void> {
  try {
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      try {
        queue.unshift(...(await runBatch(batch)));
      } catch (err) {
        for (const req of batch) req.reject(err); // no-op for those already settled
      }
    }
  } finally {
    running = false;
  }
}

/** Runs the requests in one process and settles each; returns those that never started (ip died before them). */
async function runBatch(batch: Request[]): Promise<Request[]> {
  const input: string[] = [];
  const firsts: number[] = []; // the input line number of each request's first line
  batch.forEach((req, i) => {
    firsts.push(input.length + 1);
    input.push(...req.lines);
    if (i < batch.length - 1) input.push(MARKER);
  });
  let r: { stdout: string; stderr: string; code: number };
  try {
    r = await run("ip", ["-force", "-batch", "-"], { input: input.join("\n") + "\n", allowFailure: true });
  } catch (err) {
    for (const req of batch) req.reject(err);
    return [];
  }

  // stderr: each `Command failed -:N` closes the message of line N; what follows the last one
  // is the message of a line that made ip exit.
  const failed = new Map<number, string>();
  let pending: string[] = [];
  for (const l of r.stderr.split("\n")) {
    const m = FAILED.exec(l);
    if (m) {
      failed.set(Number(m[1]), pending.join("\n").trim());
      pending = [];
    } else if (l.trim() !== "") {
      pending.push(l);
    }
  }
  const tail = pending.join("\n").trim();
  const markers = r.stdout.match(MARKER_OUT)?.length ?? 0;

  // How far ip got: `done` requests ran to their end; the one after them stopped ip (or ip
  // was killed: we cannot tell how far it got, so that one and the rest fail).
  const completed = r.code === 0 || (r.code === 1 && failed.size > 0 && markers === batch.length - 1);
  const done = completed ? batch.length : Math.min(markers, batch.length - 1);
  const fatal = !completed && r.code === 255;

  const settle = (req: Request, failures: IpLineFailure[]): void => {
    if (failures.length > 0 && !req.allowFailure) req.reject(new IpBatchError(failures));
    else req.resolve({ failures, stderr: failures.map((f) => f.message).join("\n") });
  };
  const own = (i: number): IpLineFailure[] => {
    const req = batch[i]!;
    const first = firsts[i]!;
    return req.lines.flatMap((line, k) => {
      const message = failed.get(first + k);
      return message === undefined ? [] : [{ line, lineNo: k + 1, message }];
    });
  };

  for (let i = 0; i < done; i++) settle(batch[i]!, own(i));
  if (done === batch.length) return [];
  if (fatal) {
    settle(batch[done]!, [...own(done), fatalLine(batch[done]!.lines, failed, firsts[done]!, tail)]);
    return batch.slice(done + 1);
  }
  const message = `ip -force -batch - ended abnormally (exit ${r.code})${tail ? `: ${tail}` : ""}`;
  for (let i = done; i < batch.length; i++) settle(batch[i]!, [...own(i), { line: "", lineNo: 0, message }]);
  return [];
}

/**
 * The line that made ip exit prints no line number, and the lines of its request that
 * succeeded print nothing. ip's message names the bad argument (`argument "X" is wrong`):
 * the line is taken to be the first one with X as a word that did not fail otherwise.
 */
function fatalLine(lines: readonly string[], failed: ReadonlyMap<number, string>, first: number, tail: string): IpLineFailure {
  const message = `${tail || "ip exited (255)"} (ip stopped there: the lines after it did not run)`;
  const arg = /argument "([^"]*)" is wrong/.exec(tail)?.[1];
  const k = arg === undefined ? -1 : lines.findIndex((line, k) => !failed.has(first + k) && line.split(/\s+/).includes(arg));
  return k >= 0 ? { line: lines[k]!, lineNo: k + 1, message } : { line: "", lineNo: 0, message };
}
