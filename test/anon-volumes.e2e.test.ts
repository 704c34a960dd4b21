// A database image's data must survive a recreate. The image's VOLUMEs (and a
// service's `- /path` volumes) are anonymous volumes; a recreate (a changed
// environment, --force-recreate) mounts the previous container's ones in the
// new container, as docker compose does; -V starts from new ones; down -v
// removes them. What the container sees is checked, not our own output.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine } from "../engine/index.js";
import { handoverKey } from "../model/labels.js";
import { VOLUME_IMAGE_SEED } from "./fixtures/images.js";
import { projectCli, startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tav${process.pid}`;

const stack = (generation: number): string => `
services:
  db:
    image: volumed
    environment: { GENERATION: "${generation}" }
    volumes: ["/scratch"]
`;

const { cli, sh: shIn } = projectCli(() => s, project);
const sh = (script: string): Promise<string> => shIn("db", script);
const containerId = async (): Promise<string> => (await cli(["ps", "-q"])).trim();
const anonymousVolumes = async (): Promise<string[]> =>
  (await cli(["volume", "ls", "-q"])).split("\n").filter((n) => /^[0-9a-f]{64}$/.test(n));

beforeAll(async () => {
  s = await startStackSuite("anon-volumes", ["volumed"]);
  s.projects.push({ name: project, cwd: s.work });
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s, ["-v", "-t", "0"])).toEqual([]);
}, 180_000);

describe("anonymous volumes", () => {
  it("mounts the image's VOLUME filled from the image, keeps both volumes over recreates, renews them with -V, and down -v removes them", async () => {
    writeFileSync(join(s.work, "compose.yaml"), stack(1));
    await cli(["up", "-d"]);
    // The image's content is copied into its new VOLUME; the service's own anonymous volume starts empty.
    expect(await sh(`cat /${VOLUME_IMAGE_SEED.path}`)).toBe(VOLUME_IMAGE_SEED.content);
    expect(await sh("grep -c ' /data \\| /scratch ' /proc/mounts")).toBe("2\n");
    await sh("echo row > /data/row.txt && echo scratch > /scratch/s.txt");
    const volumes = await anonymousVolumes();
    expect(volumes).toHaveLength(2);

    // A changed environment recreates the container: the data is still there.
    const first = await containerId();
    writeFileSync(join(s.work, "compose.yaml"), stack(2));
    await cli(["up", "-d"]);
    expect(await containerId()).not.toBe(first);
    expect(await sh("cat /data/row.txt /scratch/s.txt")).toBe("row\nscratch\n");
    expect((await anonymousVolumes()).sort()).toEqual([...volumes].sort());

    const second = await containerId();
    await cli(["up", "-d", "--force-recreate"]);
    expect(await containerId()).not.toBe(second);
    expect(await sh("cat /data/row.txt /scratch/s.txt")).toBe("row\nscratch\n");

    // -V: new volumes, the image's content again; the old ones are left dangling, as compose leaves them.
    await cli(["up", "-d", "--force-recreate", "-V"]);
    expect(await sh(`cat /${VOLUME_IMAGE_SEED.path}; ls /data /scratch`)).toBe(`${VOLUME_IMAGE_SEED.content}/data:\nseed.txt\n\n/scratch:\n`);
    const renewed = (await anonymousVolumes()).filter((v) => !volumes.includes(v));
    expect(renewed).toHaveLength(2);

    await cli(["down", "-v", "-t", "0"]);
    const left = await anonymousVolumes();
    for (const v of renewed) expect(left).not.toContain(v);
    // The dangling ones belong to no container: `volume prune` is how they go, as with docker.
    for (const v of volumes) expect(left).toContain(v);
    await cli(["volume", "prune", "-f"]);
    expect(await anonymousVolumes()).toEqual([]);
  }, 900_000);

  it("keeps the data when the daemon dies between removing the old container and creating the new one", async () => {
    writeFileSync(join(s.work, "compose.yaml"), stack(1));
    await cli(["up", "-d"]);
    await sh("echo row > /data/row.txt");
    const volumes = await anonymousVolumes();
    const old = await containerId();
    // The crash, at the one moment a recreate holds the data in no container: the daemon is
    // killed, and the engine (opened on its state dir as the daemon opens it) does what the
    // daemon had done by then: the old container stopped and removed, handing its volumes over.
    await s.daemon.stop("SIGKILL");
    const engine = await createEngine({ kind: "embedded", stateDir: s.daemon.stateDir, configFile: join(s.daemon.dir, "daemon.json") });
    try {
      const info = await engine.inspectContainer(old);
      expect(info?.name).toBe(`${project}-db-1`);
      await engine.stopContainer(info?.id ?? old, { timeoutMs: 0 });
      await engine.removeContainer(info?.id ?? old, { force: true, handOver: handoverKey(project, "db", 1) });
    } finally {
      await engine.close();
    }
    await s.daemon.start();
    writeFileSync(join(s.work, "compose.yaml"), stack(2));
    await cli(["up", "-d"]);
    expect(await containerId()).not.toBe(old);
    expect(await sh("cat /data/row.txt")).toBe("row\n");
    expect((await anonymousVolumes()).sort()).toEqual([...volumes].sort());
    await cli(["down", "-v", "-t", "0"]);
    const left = await anonymousVolumes();
    for (const v of volumes) expect(left).not.toContain(v);
  }, 900_000);
});
