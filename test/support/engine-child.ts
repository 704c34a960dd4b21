// An engine in a process of its own, for the suites that kill it with
// SIGKILL (test/support/engine.ts startEngineChild runs it with vite-node):
// it opens the engine on the given state dir exactly as the daemon does, does
// its one task, says so on stdout, and then waits to be killed. The
// network-creation task never gets that far: the pause hook stops it half way
// and says "paused at ..." on stderr.
import { createEngine } from "../../engine/index.js";
import { ENGINE_CHILD_ENV } from "./engine.js";
import type { EngineChildConfig } from "./engine.js";

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env[ENGINE_CHILD_ENV] ?? "{}") as EngineChildConfig;
  const engine = await createEngine({ kind: "embedded", stateDir: cfg.stateDir, configFile: cfg.configFile });
  const task = cfg.task;
  if (task.kind === "run-container") {
    await engine.pullImage(task.spec.image);
    const info = await engine.createContainer(task.spec);
    await engine.startContainer(info.id);
    process.stdout.write(`ready ${JSON.stringify(await engine.inspectContainer(info.id))}\n`);
  } else {
    await engine.createNetwork(task.spec);
    process.stderr.write("not paused: the hook did not fire\n");
    process.exit(3);
  }
  // Keeps the event loop (and the network's DNS servers) alive until the test kills us.
  setInterval(() => undefined, 60_000);
}

main().catch((err: unknown) => {
  process.stderr.write(`engine child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
