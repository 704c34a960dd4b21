// A network manager process for crash tests (crash.test.ts runs it with
// vite-node and kills it with SIGKILL at a pause point). It makes sure a
// healthy network "crash-a" and a container "keeper" on it exist, then starts
// one more operation with the pause hook armed and is killed inside it.
import { PAUSE_ENV } from "./hooks.js";
import { openNetworkManager } from "./manager.js";
import { CRASH_CONFIG_ENV, type CrashChildConfig } from "./testing.js";

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env[CRASH_CONFIG_ENV] ?? "{}") as CrashChildConfig;
  const m = await openNetworkManager({ stateDir: cfg.stateDir, prefixes: cfg.prefixes, pools: [cfg.pool], upstreamDns: [cfg.upstream], dnsSearch: [] });
  await m.repair();
  const spec = { labels: {}, driver: "bridge", internal: false, subnet: undefined, gateway: undefined };
  if (!(await m.inspectNetwork("crash-a"))) await m.createNetwork({ ...spec, name: "crash-a" });
  if (!(await m.inspectSandbox(cfg.keeperId))) {
    await m.createSandbox({ containerId: cfg.keeperId, name: "keeper", networks: [{ network: "crash-a", aliases: ["keeper"] }] });
  }
  process.env[PAUSE_ENV] = cfg.pauseAt;
  if (cfg.pauseAt.startsWith("network:")) await m.createNetwork({ ...spec, name: "crash-b" });
  else await m.createSandbox({ containerId: cfg.victimId, name: "victim", networks: [{ network: "crash-a", aliases: ["victim"] }] });
  process.stderr.write("not paused: the hook did not fire\n");
  process.exit(3);
}

main().catch((err: unknown) => {
  process.stderr.write(`crash child failed: ${String(err)}\n`);
  process.exit(2);
});
