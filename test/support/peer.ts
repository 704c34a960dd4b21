// The peer implementation for runtime conformance: Debian's docker-compose
// 1.29 driving a private dockerd (test/fixtures/dockerd.ts) that runs the same
// fixture images, pulled from the same test registry the tscompose daemon uses
// as its docker.io mirror and retagged under their Docker Hub names, so a
// stack's `image: busybox` means the same bytes on both sides.
import { execFile } from "node:child_process";
import { startPrivateDockerd, type PrivateDockerd } from "../fixtures/dockerd.js";
import type { TestImageName } from "../fixtures/images.js";
import { TEST_IMAGE_REPOSITORIES } from "../fixtures/push.js";
import type { TestRegistry } from "../fixtures/registry.js";

export interface Peer {
  dockerd: PrivateDockerd;
  /** Runs docker-compose against the private dockerd; rejects with its stderr when it fails. */
  compose(args: string[], cwd: string): Promise<string>;
  /** Containers, volumes and user-defined networks left on the private dockerd. */
  leftovers(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startPeer(registry: Pick<TestRegistry, "host">, images: TestImageName[]): Promise<Peer> {
  const dockerd = await startPrivateDockerd();
  try {
    for (const image of images) {
      const repository = TEST_IMAGE_REPOSITORIES[image];
      // 127.0.0.0/8 registries are insecure by default for dockerd: plain http works without configuration.
      await dockerd.docker(["pull", "-q", `${registry.host}/${repository}`]);
      await dockerd.docker(["tag", `${registry.host}/${repository}`, repository.replace(/^library\//, "")]);
    }
  } catch (err) {
    await dockerd.stop();
    throw err;
  }
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dockerd.dir, DOCKER_HOST: dockerd.host };
  const compose: Peer["compose"] = (args, cwd) =>
    new Promise((resolve, reject) => {
      execFile("docker-compose", args, { cwd, env, encoding: "utf8", maxBuffer: 16 << 20, timeout: 240_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`docker-compose ${args.slice(0, 6).join(" ")}: ${stderr.trim() || err.message}`, { cause: err }));
        else resolve(stdout);
      });
    });
  const leftovers = async (): Promise<string[]> => {
    const lines = async (args: string[]): Promise<string[]> => (await dockerd.docker(args)).stdout.split("\n").filter(Boolean);
    return [
      ...(await lines(["ps", "-aq"])).map((c) => `container: ${c}`),
      ...(await lines(["volume", "ls", "-q"])).map((v) => `volume: ${v}`),
      ...(await lines(["network", "ls", "-q", "--filter", "type=custom"])).map((n) => `network: ${n}`),
    ];
  };
  return { dockerd, compose, leftovers, stop: () => dockerd.stop() };
}
