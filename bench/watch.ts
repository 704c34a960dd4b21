// Watch mode latency: from writing the stack file to the daemon's
// "converged" event. Two kinds of edit, alternated:
//  - a comment (no service changes): detection + reload + plan, nothing to do;
//  - an env change of one service: the same plus stopping, creating and
//    starting its container. The container's own start time is measured apart
//    (the daemon's start of an identical container) and subtracted, as the
//    goal (< 300 ms) is for our share.
// Peer: none does this (docker compose watch only syncs files); the printed
// ratio is against the 300 ms goal.
import { request } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pushTestImage } from "../test/fixtures/push.js";
import { startRegistry } from "../test/fixtures/registry.js";
import { testDaemon } from "../test/support/daemon.js";
import { median } from "./harness.js";

const rounds = Number(process.env.ROUNDS ?? 8);

const stack = (n: number, comment: number): string =>
  [
    `# edit ${comment}`,
    "services:",
    "  app:",
    "    image: busybox",
    // SIGKILL as the stop signal: stopping takes no grace period, so the recreate is all container work.
    "    command: ['sleep', '600']",
    "    stop_signal: SIGKILL",
    "    environment:",
    `      N: "${n}"`,
    "  other:",
    "    image: busybox",
    "    command: ['sleep', '600']",
    "    stop_signal: SIGKILL",
    "",
  ].join("\n");

function events(socket: string, onEvent: (e: { type: string; action?: string; project?: string; time: number }) => void): () => void {
  const req = request({ socketPath: socket, path: "/v1/events", method: "GET" }, (res) => {
    let buf = "";
    res.on("data", (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line) onEvent(JSON.parse(line) as { type: string; time: number });
      }
    });
  });
  req.on("error", () => undefined);
  req.end();
  return () => req.destroy();
}

const registry = await startRegistry();
const daemon = testDaemon({ mirror: registry.url });
const work = mkdtempSync(join(tmpdir(), "tscompose-bench-watch-"));
try {
  await pushTestImage(registry, "busybox");
  await daemon.start();
  const project = "benchwatch";
  writeFileSync(join(work, "compose.yaml"), stack(0, 0));
  const up = daemon.cli(["-p", project, "up", "-d", "--watch"], { cwd: work });
  if (up.code !== 0) throw new Error(up.stdout + up.stderr);
  let waiting: ((t: number) => void) | undefined;
  // The container's own work in a recreate: from its create event to its start event (runc create + start, rootfs, netns).
  let createdAt = 0;
  let ownWork = 0;
  const stop = events(daemon.socket, (e) => {
    if (e.type === "stack" && e.action === "converged" && e.project === project) waiting?.(Date.now());
    if (e.type === "container" && e.action === "create") createdAt = Date.now();
    if (e.type === "container" && e.action === "start" && createdAt > 0) ownWork = Date.now() - createdAt;
  });
  await new Promise((r) => setTimeout(r, 500));
  const noop: number[] = [];
  const change: number[] = [];
  const startCost: number[] = [];
  for (let i = 1; i <= rounds; i++) {
    for (const kind of ["noop", "change"] as const) {
      const done = new Promise<number>((resolve, reject) => {
        waiting = resolve;
        setTimeout(() => reject(new Error(`no converged event for the ${kind} edit of round ${i}; daemon log:\n${daemon.log().slice(-2000)}`)), 20_000).unref();
      });
      createdAt = 0;
      ownWork = 0;
      const t0 = Date.now();
      writeFileSync(join(work, "compose.yaml"), stack(kind === "change" ? i : i - 1, i * 2 + (kind === "change" ? 1 : 0)));
      const t1 = await done;
      (kind === "noop" ? noop : change).push(t1 - t0);
      if (kind === "change") startCost.push(ownWork);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  stop();
  const ours = median(change) - median(startCost);
  console.log("\nwatch mode: edit of the stack file -> converged (daemon event)");
  console.log(`  comment-only edit (reload, plan, nothing to do)   median ${median(noop).toFixed(0)} ms (n=${noop.length})`);
  console.log(`  env change of one service (recreate)              median ${median(change).toFixed(0)} ms (n=${change.length})`);
  console.log(`  of which the new container's create -> start       median ${median(startCost).toFixed(0)} ms`);
  console.log(`  our share: ${ours.toFixed(0)} ms  -> ${(300 / Math.max(1, ours)).toFixed(1)}x under the 300 ms goal`);
  daemon.cli(["-p", project, "down", "-t", "0"], { cwd: work });
} finally {
  await daemon.stop();
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(daemon.dir, { recursive: true, force: true });
}
