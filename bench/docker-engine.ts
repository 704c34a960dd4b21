// tscompose on the Docker engine against docker-compose 1.29, on the same
// private dockerd (test/fixtures/dockerd.ts), in one run (issue 19): `up -d`
// of the same 10-service busybox stack (image cached), each followed by an
// untimed `down`, the two tools alternating round by round; medians and the
// ratio. The services end on SIGTERM at once (a trap), so `down` never waits
// out a grace period.
//
// Usage: npm run build && npm run build:dev && node dist-dev/bench/docker-engine.js   (root; ROUNDS=5, SERVICES=10)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMirroringDockerd } from "../test/fixtures/dockerd.js";
import { pushTestImage } from "../test/fixtures/push.js";
import { startRegistry } from "../test/fixtures/registry.js";
import { bin, cleanupDir, testDaemon } from "../test/support/daemon.js";
import { compare, report, timeCommand } from "./harness.js";
import { poolOctet } from "../test/support/pools.js";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SERVICES = Number(process.env.SERVICES ?? 10);

function stackYaml(n: number): string {
  let y = "services:\n";
  for (let i = 1; i <= n; i++) y += `  s${i}:\n    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n`;
  return y;
}

async function main(): Promise<void> {
  const registry = await startRegistry();
  const dockerd = await startMirroringDockerd(registry.url, poolOctet("bench-docker-engine"));
  const d = testDaemon({ mirror: registry.url });
  const dir = mkdtempSync(join(tmpdir(), "tsc-bench-docker-"));
  try {
    await pushTestImage(registry, "busybox");
    await dockerd.docker(["pull", "-q", "busybox"]);
    d.env.TSCOMPOSE_ENGINE = "docker";
    d.env.DOCKER_HOST = dockerd.host;
    await d.start();
    writeFileSync(join(dir, "compose.yaml"), stackYaml(SERVICES));
    const composeEnv = { PATH: process.env.PATH, HOME: dockerd.dir, DOCKER_HOST: dockerd.host };
    const down = (cmd: string, args: string[], env: NodeJS.ProcessEnv): void => {
      const r = spawnSync(cmd, args, { cwd: dir, env, stdio: "ignore", timeout: 300_000 });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed`);
    };
    const samples = compare(
      [
        {
          name: "docker-compose 1.29",
          run: () => {
            const ms = timeCommand("docker-compose", ["-p", "bdc", "up", "-d"], { cwd: dir, env: composeEnv, timeoutMs: 600_000 });
            down("docker-compose", ["-p", "bdc", "down"], composeEnv);
            return ms;
          },
        },
        {
          name: "tscompose (docker engine)",
          run: () => {
            const ms = timeCommand(bin, ["-p", "btc", "up", "-d"], { cwd: dir, env: d.env, timeoutMs: 600_000 });
            down(bin, ["-p", "btc", "down"], d.env);
            return ms;
          },
        },
      ],
      ROUNDS,
    );
    report(`up -d of ${SERVICES} cached busybox services on one dockerd 20.10`, samples, "docker-compose 1.29");
  } finally {
    await d.stop();
    cleanupDir(d);
    await dockerd.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
