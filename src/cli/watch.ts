// `tscompose watch` (and `up --watch` attached): converge the stack, then
// keep the daemon watching its files, printing each reload, what changed and
// whether it converged; Ctrl-C stops watching (containers keep running).
// `up -d --watch` leaves the watching to the daemon after the CLI exits.
import type { DaemonEvent } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
import { daemon, loadProject } from "./project.js";
import { runUp } from "./up.js";

export async function runWatch(opts: ProjectOptions, services: string[]): Promise<number> {
  const code = await runUp(opts, services, { detach: true, watch: true });
  if (code !== 0) return code;
  const { stack } = loadProject(opts, true);
  const client = await daemon();
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  process.stdout.write(`Watching ${stack.name}: edit its files and the stack follows. Ctrl-C to stop watching.\n`);
  for await (const e of client.stream<DaemonEvent>("GET", "/events", undefined, abort.signal)) {
    if (e.type !== "stack" || e.project !== stack.name) continue;
    const time = new Date(e.time).toISOString().slice(11, 23);
    if (e.action === "reload") process.stdout.write(`${time} reload: ${e.message ?? ""}\n`);
    else if (e.action === "converged") process.stdout.write(`${time} converged\n`);
    else if (e.action === "develop") process.stdout.write(`${time} ${e.message ?? ""}\n`);
    else if (e.action === "error") process.stderr.write(`${time} ${e.message ?? "error"} (the running stack is unchanged)\n`);
  }
  await client.json("POST", `/stacks/${encodeURIComponent(stack.name)}/unwatch`);
  process.stdout.write("Stopped watching.\n");
  return 0;
}
