// The daemon on the Docker engine (TSCOMPOSE_ENGINE=docker, DOCKER_HOST): `up`
// of a stack lands in a private dockerd, docker's own CLI and docker-compose
// 1.29 see the containers by compose's labels, and `down` leaves dockerd empty.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDockerWorld, stopDockerWorld, type DockerWorld } from "./support/docker-world.js";
import { isRoot, missing } from "./support/requires.js";
import { poolOctet } from "./support/pools.js";

const root = !missing("root", isRoot);

describe.skipIf(!root)("the daemon on the Docker engine", () => {
  let world: DockerWorld | undefined;

  beforeAll(async () => {
    world = await startDockerWorld(poolOctet("docker-daemon"), { onDockerd: true });
  }, 180_000);

  afterAll(() => stopDockerWorld(world), 120_000);

  it("up runs the stack in dockerd, docker-compose 1.29 lists it by compose's labels, down leaves nothing", async () => {
    const { daemon, dockerd: docker } = world as DockerWorld;
    writeFileSync(join(daemon.dir, "compose.yaml"), "services:\n  web:\n    image: busybox\n    command: [\"sleep\", \"3600\"]\n  worker:\n    image: busybox\n    command: [\"sleep\", \"3600\"]\n");
    const up = daemon.cli(["-p", "dk", "up", "-d"]);
    expect(up.stderr + up.stdout).not.toMatch(/error/i);
    expect(up.code).toBe(0);
    const names = (await docker.docker(["ps", "--format", "{{.Names}} {{.Label \"com.docker.compose.service\"}}"])).stdout.trim().split("\n").sort();
    expect(names).toEqual(["dk-web-1 web", "dk-worker-1 worker"]);
    const composePs = await new Promise<string>((resolve, reject) => {
      execFile("docker-compose", ["-p", "dk", "ps", "--services", "--filter", "status=running"], { cwd: daemon.dir, env: { PATH: process.env.PATH, HOME: docker.dir, DOCKER_HOST: docker.host }, encoding: "utf8" }, (err, stdout, stderr) =>
        err ? reject(new Error(stderr || err.message)) : resolve(stdout),
      );
    });
    expect(composePs.trim().split("\n").sort()).toEqual(["web", "worker"]);
    const ps = daemon.cli(["-p", "dk", "ps", "--format", "json"]);
    expect(ps.code).toBe(0);
    expect(ps.stdout).toContain("dk-web-1");
    const down = daemon.cli(["-p", "dk", "down"]);
    expect(down.code).toBe(0);
    const left = [
      ...(await docker.docker(["ps", "-aq"])).stdout.split("\n").filter(Boolean),
      ...(await docker.docker(["network", "ls", "-q", "--filter", "type=custom"])).stdout.split("\n").filter(Boolean),
      ...(await docker.docker(["volume", "ls", "-q"])).stdout.split("\n").filter(Boolean),
    ];
    expect(left).toEqual([]);
  }, 240_000);
});
