// The Swarm engine against `docker stack deploy`, on the same 3-node lab
// (test/fixtures/swarm-lab.ts), in one run (issue 19): the time from deploy
// to every task running for a 5-service stack. tscompose's deploy waits by
// itself; docker's is `docker stack deploy` plus polling `docker service ls`
// until every service shows N/N. The two alternate round by round, each
// followed by an untimed removal (and waiting until no task is left). Also
// prints the lab's start time.
//
// Usage: npm run build:dev && node dist-dev/bench/swarm.js   (root; ROUNDS=3, SERVICES=5)
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SwarmDeployer } from "../engine/swarm/deployer.js";
import { loadStack } from "../src/stack/load.js";
import { startSwarmLab } from "../test/fixtures/swarm-lab.js";
import { eventually } from "../test/support/wait.js";
import { report, type Sample } from "./harness.js";

const run = promisify(execFile);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SERVICES = Number(process.env.SERVICES ?? 5);
const STACK = "bench";

/** A file both tools read: compose v3 syntax (docker stack deploy's loader), dnsrr (no IP_VS here). */
function stackYaml(image: string, n: number): string {
  let y = 'version: "3.8"\nservices:\n';
  for (let i = 1; i <= n; i++) {
    y += `  s${i}:\n    image: ${image}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n    networks: [net]\n    deploy:\n      replicas: 2\n      endpoint_mode: dnsrr\n`;
  }
  return `${y}networks:\n  net:\n    driver: overlay\n`;
}

async function main(): Promise<void> {
  const lab = await startSwarmLab();
  console.log(`swarm lab: ${lab.nodes.length} nodes started in ${lab.startMs} ms`);
  const dir = mkdtempSync(join(tmpdir(), "tsc-bench-swarm-"));
  try {
    const file = join(dir, "compose.yaml");
    writeFileSync(file, stackYaml(lab.images.busybox as string, SERVICES));
    const stack = loadStack({ files: [file], envFiles: [], profiles: [], env: {}, cwd: dir, projectName: STACK }).stack;
    const swarm = await SwarmDeployer.connect({ host: lab.manager.host });
    const docker = (args: string[]) => run("docker", ["-H", lab.manager.host, ...args], { env: { ...process.env, DOCKER_CONFIG: join(dir, "client") } });
    const noTasksLeft = () =>
      eventually(async () => (await docker(["ps", "-q", "--filter", `label=com.docker.stack.namespace=${STACK}`])).stdout.trim() + (await docker(["service", "ls", "-q"])).stdout.trim(), (s) => s === "", 120_000, "stack removed");

    const contenders: { name: string; deploy: () => Promise<void>; remove: () => Promise<void> }[] = [
      {
        name: "tscompose (swarm engine)",
        deploy: async () => {
          await swarm.deploy(stack, { timeoutMs: 300_000 });
        },
        remove: async () => {
          await swarm.remove(STACK);
          await noTasksLeft();
        },
      },
      {
        name: "docker stack deploy + poll",
        deploy: async () => {
          await docker(["stack", "deploy", "-c", file, STACK]);
          await eventually(
            async () => (await docker(["service", "ls", "--filter", `label=com.docker.stack.namespace=${STACK}`, "--format", "{{.Replicas}}"])).stdout.trim().split("\n"),
            (rs) => rs.length === SERVICES && rs.every((r) => /^(\d+)\/\1$/.test(r)),
            300_000,
            "every service N/N",
            200,
          );
        },
        remove: async () => {
          await docker(["stack", "rm", STACK]);
          await noTasksLeft();
          // docker stack rm does not wait for the network: the next deploy would find it half-removed.
          await eventually(async () => (await docker(["network", "ls", "-q", "--filter", `name=${STACK}_`])).stdout.trim(), (s) => s === "", 60_000, "network removed");
        },
      },
    ];
    const samples: Sample[] = contenders.map((c) => ({ name: c.name, times: [] }));
    // One warm-up each: the nodes pull the image once.
    for (const c of contenders) {
      await c.deploy();
      await c.remove();
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, c] of contenders.entries()) {
        const t0 = process.hrtime.bigint();
        await c.deploy();
        samples[i]!.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await c.remove();
      }
    }
    report(`deploy until ${SERVICES} services x 2 replicas run on a ${lab.nodes.length}-node swarm`, samples, "docker stack deploy + poll");
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
    const left = await lab.leaks();
    if (left.length > 0) console.log(`left behind: ${left.join(", ")}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
