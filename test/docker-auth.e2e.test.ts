// The docker engine and what users see of dockerd (issue 19's leftovers): a
// stack's `up`, `create` and `run` pull through dockerd with the user's
// `tscompose login` (X-Registry-Auth from their docker config.json), a
// refused login stops `up` before anything is recorded or made; `system df`
// gives `docker system df`'s figures of the same dockerd (shared layers once);
// `images -a` shows a build's intermediate images as `docker images -a` does.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrivateDockerd } from "./fixtures/dockerd.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry, TEST_PASSWORD, TEST_USER, type TestRegistry } from "./fixtures/registry.js";
import type { TestDaemon } from "./support/daemon.js";
import { startDockerdWorld, stopDockerdWorld, type DockerdWorld } from "./support/dockerd-world.js";
import { isRoot, missing } from "./support/requires.js";

describe.skipIf(missing("root", isRoot))("logins, system df and images -a on the docker engine", () => {
  let world: DockerdWorld | undefined;
  let authRegistry: TestRegistry | undefined;
  let dockerd: PrivateDockerd | undefined;
  let d: TestDaemon | undefined;

  beforeAll(async () => {
    authRegistry = await startRegistry({ auth: "basic" });
    await pushTestImage(authRegistry, "busybox", { repository: "private/busybox:1", credentials: authRegistry.credentials });
    world = await startDockerdWorld("docker-auth");
    ({ dockerd, d } = world);
  }, 240_000);

  afterAll(async () => {
    // What a failed test left (a test that passes takes its stacks down itself).
    if (d?.process) for (const p of ["authup", "authcreate"]) d.cli([...onDocker(), "-p", p, "down"]);
    const left = await stopDockerdWorld(world);
    await authRegistry?.stop();
    expect(left).toEqual([]);
  }, 120_000);

  const run = (args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): { code: number; stdout: string; stderr: string } => (d as TestDaemon).cli(args, opts);
  const onDocker = (): string[] => ["--engine", "docker", "-H", (dockerd as PrivateDockerd).host];
  const docker = async (args: string[]): Promise<string> => (await (dockerd as PrivateDockerd).docker(args)).stdout;
  const projectObjects = async (project: string): Promise<string> =>
    (await docker(["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`])) + (await docker(["network", "ls", "-q", "--filter", `label=com.docker.compose.project=${project}`]));
  /** A user's docker config.json dir: empty, or with this password for the auth registry written as docker login writes it. */
  const userConfig = (password?: string): NodeJS.ProcessEnv => {
    const dir = mkdtempSync(join((d as TestDaemon).dir, "docker-config-"));
    if (password !== undefined) {
      const auth = Buffer.from(`${TEST_USER}:${password}`).toString("base64");
      writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [(authRegistry as TestRegistry).host]: { auth } } }));
    }
    return { DOCKER_CONFIG: dir };
  };
  const stackDir = (name: string, yaml: string): string => {
    const dir = join((d as TestDaemon).dir, name);
    mkdirSync(dir);
    writeFileSync(join(dir, "compose.yaml"), yaml);
    return dir;
  };

  it("up, create and run pull a private image through dockerd with the user's login; a refused one stops up with nothing recorded", async () => {
    const auth = authRegistry as TestRegistry;
    const image = `${auth.host}/private/busybox:1`;
    const dir = stackDir("authup", `services:\n  app:\n    image: ${image}\n    command: ["sleep", "3600"]\n`);
    const stacks = (): string[] => run(["ls", "-q"]).stdout.split("\n").filter(Boolean);

    // Nobody logged in, then a wrong password in the user's config.json: refused, the registry named, exit 1, nothing recorded or made.
    for (const env of [userConfig(), userConfig("not-the-password")]) {
      const refused = run([...onDocker(), "-p", "authup", "up", "-d"], { cwd: dir, env });
      expect(refused.code, refused.stdout).toBe(1);
      expect(refused.stderr).toContain(auth.host);
      expect(refused.stderr).toMatch(/unauthorized|authentication required|no basic auth/i);
      expect(stacks()).not.toContain("authup");
      expect(await projectObjects("authup")).toBe("");
    }
    await expect(docker(["image", "inspect", image])).rejects.toThrow(/No such image/);

    // tscompose login (checked through dockerd) writes the user's config.json; up pulls with it.
    const env = userConfig();
    const login = run([...onDocker(), "login", "-u", TEST_USER, "--password-stdin", auth.host], { env, input: `${TEST_PASSWORD}\n` });
    expect(login.code, login.stderr).toBe(0);
    const up = run([...onDocker(), "-p", "authup", "up", "-d"], { cwd: dir, env });
    expect(up.code, up.stderr).toBe(0);
    expect(stacks()).toContain("authup");
    expect((await docker(["inspect", "-f", "{{.State.Status}} {{.Config.Image}}", "authup-app-1"])).trim()).toBe(`running ${image}`);

    // run: the tag gone from dockerd (the container keeps the image), so the one-off's image is pulled again.
    await docker(["rmi", "-f", image]);
    const anonymous = run([...onDocker(), "-p", "authup", "run", "--rm", "--no-deps", "app", "echo", "from-run"], { cwd: dir, env: userConfig() });
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/unauthorized|authentication required|no basic auth/i);
    const oneOff = run([...onDocker(), "-p", "authup", "run", "--rm", "--no-deps", "app", "echo", "from-run"], { cwd: dir, env });
    expect(oneOff.code, oneOff.stderr).toBe(0);
    expect(oneOff.stdout).toContain("from-run");
    expect((await docker(["image", "inspect", "-f", "{{.RepoTags}}", image])).trim()).toContain(image);
    expect(run([...onDocker(), "-p", "authup", "down"], { cwd: dir }).code).toBe(0);

    // A stack the daemon no longer has a record of: the one-off goes to the dockerd -H names, not the default engine.
    const detached = run([...onDocker(), "-p", "authup", "run", "-d", "--no-deps", "app", "sleep", "60"], { cwd: dir, env });
    expect(detached.code, detached.stderr).toBe(0);
    const oneOffName = detached.stdout.trim();
    expect(oneOffName).toMatch(/^authup-app-run-/);
    expect((await docker(["inspect", "-f", "{{.State.Status}}", oneOffName])).trim()).toBe("running");
    await docker(["rm", "-f", oneOffName]);
    expect(run([...onDocker(), "-p", "authup", "down"], { cwd: dir }).code).toBe(0);

    // create pulls with the login too (another project, the image gone from dockerd again).
    await docker(["rmi", image]);
    const created = stackDir("authcreate", `services:\n  app:\n    image: ${image}\n    command: ["sleep", "3600"]\n`);
    const refusedCreate = run([...onDocker(), "-p", "authcreate", "create"], { cwd: created, env: userConfig() });
    expect(refusedCreate.code).toBe(1);
    expect(await projectObjects("authcreate")).toBe("");
    const create = run([...onDocker(), "-p", "authcreate", "create"], { cwd: created, env });
    expect(create.code, create.stderr).toBe(0);
    expect((await docker(["inspect", "-f", "{{.State.Status}}", "authcreate-app-1"])).trim()).toBe("created");
    expect(run([...onDocker(), "-p", "authcreate", "down"], { cwd: created }).code).toBe(0);
    await docker(["rmi", image]);
  }, 300_000);

  it("system df gives docker system df's figures of the same dockerd: layers shared by two images counted once", async () => {
    // Two images on one base, each with a layer of its own; one in use by a running container.
    await docker(["pull", "-q", "busybox"]);
    for (const [name, bytes] of [["one", 300_000], ["two", 700_000]] as const) {
      await docker(["run", "--network", "none", "--name", `df-${name}`, "busybox", "sh", "-c", `head -c ${bytes} /dev/urandom > /blob`]);
      await docker(["commit", `df-${name}`, `df/${name}:1`]);
      await docker(["rm", `df-${name}`]);
    }
    await docker(["run", "-d", "--network", "none", "--name", "df-running", "df/one:1", "sleep", "3600"]);
    try {
      const shared = JSON.parse(await docker(["system", "df", "-v", "--format", "{{json .Images}}"])) as { Repository: string; SharedSize: string }[];
      // The premise: dockerd itself says df/two shares layers (busybox's) with the others.
      expect(shared.find((i) => i.Repository === "df/two")?.SharedSize).not.toBe("0B");
      const theirs = (await docker(["system", "df", "--format", "{{json .}}"])).trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
      const ours = run([...onDocker(), "system", "df", "--format", "json"]);
      expect(ours.code, ours.stderr).toBe(0);
      const rows = ours.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
      const fields = (r: Record<string, string>): string[] => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable].map(String);
      expect(rows.map(fields)).toEqual(theirs.map(fields));
      expect(rows[0]?.TotalCount).toBe("3");
    } finally {
      await docker(["rm", "-f", "df-running"]);
      await docker(["rmi", "df/one:1", "df/two:1"]);
    }
  }, 300_000);

  it("images -a shows a build's intermediate images, as docker images -a of the same dockerd", async () => {
    await docker(["pull", "-q", "busybox"]);
    const dir = mkdtempSync(join((d as TestDaemon).dir, "ctx-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM busybox\nLABEL step=one\nLABEL step=two\nENV LAST=three\n");
    // The classic builder keeps each step's image as the next one's parent: untagged, shown only with -a.
    await (dockerd as PrivateDockerd).docker(["build", "-q", "-t", "layered/app:1", dir]);
    try {
      const ids = async (args: string[]): Promise<string[]> => [...new Set((await docker(["images", ...args, "-q", "--no-trunc"])).split("\n").filter(Boolean))].sort();
      const ours = (args: string[]): string[] => {
        const r = run([...onDocker(), "images", ...args, "-q", "--no-trunc"]);
        expect(r.code, r.stderr).toBe(0);
        return [...new Set(r.stdout.split("\n").filter(Boolean))].sort();
      };
      const all = await ids(["-a"]);
      const top = await ids([]);
      expect(all.length).toBeGreaterThan(top.length);
      expect(ours(["-a"])).toEqual(all);
      expect(ours([])).toEqual(top);
    } finally {
      await docker(["rmi", "layered/app:1"]);
    }
  }, 300_000);
});
