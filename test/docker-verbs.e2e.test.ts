// The docker CLI's image, volume, network and system verbs with `--engine
// docker -H` (issue 19): each goes to that dockerd, never to the embedded
// engine; `save` of one engine loads into the other, both ways; a push and a
// login reach the registry as dockerd reaches it, with the user's logins. And a
// real TLS dockerd: a CA, server and client certificates made here with
// openssl, a stack brought up, listed and taken down over --tlsverify (flags,
// then DOCKER_TLS_VERIFY/DOCKER_CERT_PATH), and a CA that did not sign the
// server's certificate refused with the host named, nothing recorded.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMirroringDockerd, type PrivateDockerd } from "./fixtures/dockerd.js";
import { freePort } from "./fixtures/ports.js";
import { inspectRaw, pushTestImage } from "./fixtures/push.js";
import { startRegistry, TEST_PASSWORD, TEST_USER, type TestRegistry } from "./fixtures/registry.js";
import { buildOnce, cleanupDir, leaks, testDaemon, type TestDaemon } from "./support/daemon.js";
import { poolOctet } from "./support/pools.js";
import { isRoot, missing } from "./support/requires.js";

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as `docker` wants them in DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem). */
function makeCertificates(dir: string): { server: { ca: string; cert: string; key: string }; client: string; otherCa: string } {
  const ssl = (args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const ca = (name: string): void => {
    ssl(["genrsa", "-out", `${name}-key.pem`, "2048"]);
    ssl(["req", "-x509", "-new", "-key", `${name}-key.pem`, "-days", "2", "-subj", `/CN=tscompose test ${name}`, "-out", `${name}.pem`]);
  };
  const signed = (name: string, cn: string, ext: string): void => {
    ssl(["genrsa", "-out", `${name}-key.pem`, "2048"]);
    ssl(["req", "-new", "-key", `${name}-key.pem`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}-cert.pem`]);
  };
  ca("ca");
  signed("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  signed("client", "tscompose-client", "extendedKeyUsage=clientAuth\n");
  // DOCKER_CERT_PATH layouts: the right CA, and a CA of its own that signed nothing dockerd shows.
  const client = join(dir, "client");
  const otherCa = join(dir, "other");
  for (const d of [client, otherCa]) {
    mkdirSync(d);
    writeFileSync(join(d, "cert.pem"), readFileSync(join(dir, "client-cert.pem")));
    writeFileSync(join(d, "key.pem"), readFileSync(join(dir, "client-key.pem")));
  }
  writeFileSync(join(client, "ca.pem"), readFileSync(join(dir, "ca.pem")));
  ca("other-ca");
  writeFileSync(join(otherCa, "ca.pem"), readFileSync(join(dir, "other-ca.pem")));
  return { server: { ca: join(dir, "ca.pem"), cert: join(dir, "server-cert.pem"), key: join(dir, "server-key.pem") }, client, otherCa };
}

describe.skipIf(missing("root", isRoot))("docker CLI verbs and TLS on the docker engine", () => {
  let registry: TestRegistry | undefined;
  let authRegistry: TestRegistry | undefined;
  let dockerd: PrivateDockerd | undefined;
  let d: TestDaemon | undefined;
  let certDir = "";
  let certs: ReturnType<typeof makeCertificates> | undefined;
  let tlsHost = "";

  beforeAll(async () => {
    buildOnce();
    registry = await startRegistry();
    await pushTestImage(registry, "busybox");
    authRegistry = await startRegistry({ auth: "basic" });
    certDir = mkdtempSync(join(tmpdir(), "tsc-dockertls-"));
    certs = makeCertificates(certDir);
    tlsHost = `tcp://127.0.0.1:${await freePort()}`;
    const { ca, cert, key } = certs.server;
    dockerd = await startMirroringDockerd(registry.url, poolOctet("docker-verbs"), { args: ["--host", tlsHost, "--tlsverify", "--tlscacert", ca, "--tlscert", cert, "--tlskey", key] });
    d = testDaemon({ mirror: registry.url });
    await d.start();
  }, 240_000);

  afterAll(async () => {
    if (d?.process) {
      for (const p of ["tls1", "tls2"]) d.cli(["-p", p, "down"]);
      // What a failed test left on the embedded engine (a test that passes removes them itself).
      d.cli(["network", "rm", "embnet"]);
      d.cli(["volume", "rm", "embvol"]);
    }
    await d?.stop();
    // Asserted after everything is stopped: a leak must not leave the dockerd and the registries running too.
    const left = d ? leaks(d) : [];
    if (d) cleanupDir(d);
    await dockerd?.stop();
    await registry?.stop();
    await authRegistry?.stop();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
    expect(left).toEqual([]);
  }, 120_000);

  const run = (args: string[], env?: NodeJS.ProcessEnv, input?: string): { code: number; stdout: string; stderr: string } => (d as TestDaemon).cli(args, { ...(env ? { env } : {}), ...(input !== undefined ? { input } : {}) });
  const ok = (args: string[], env?: NodeJS.ProcessEnv, input?: string): string => {
    const r = run(args, env, input);
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const onDocker = (): string[] => ["--engine", "docker", "-H", (dockerd as PrivateDockerd).host];
  const dockerId = async (ref: string): Promise<string> => (await (dockerd as PrivateDockerd).docker(["image", "inspect", "-f", "{{.Id}}", ref])).stdout.trim();
  const embeddedId = (ref: string): string => ok(["image", "inspect", "-f", "{{.Id}}", ref]).trim();
  const lines = (text: string): string[] => text.split("\n").filter(Boolean).sort();

  it("tag, image inspect, save/load both ways, import: on dockerd with -H, never on the embedded store", async () => {
    const docker = dockerd as PrivateDockerd;
    const dir = mkdtempSync(join((d as TestDaemon).dir, "img-"));
    ok([...onDocker(), "pull", "-q", "busybox"]);
    ok(["pull", "-q", "busybox"]);

    ok([...onDocker(), "tag", "busybox", "dk/tagged:1"]);
    expect(await dockerId("dk/tagged:1")).toBe(await dockerId("busybox"));
    // The embedded store has busybox (a positive control of the same inspect) but not the tag.
    expect(embeddedId("busybox")).toMatch(/^sha256:/);
    const missingThere = run(["image", "inspect", "dk/tagged:1"]);
    expect(missingThere.code).toBe(1);
    expect(missingThere.stderr).toContain("No such image: dk/tagged:1");
    const inspected = JSON.parse(ok([...onDocker(), "image", "inspect", "dk/tagged:1"])) as { Id: string; RepoTags: string[] }[];
    expect(inspected.map((i) => [i.Id, i.RepoTags.includes("dk/tagged:1")])).toEqual([[await dockerId("busybox"), true]]);
    expect(run([...onDocker(), "image", "inspect", "no/such:1"]).code).toBe(1);

    // dockerd's save loads into the embedded engine: the same image ID (the config's digest), its layers verified on the way in.
    const fromDocker = join(dir, "from-docker.tar");
    ok([...onDocker(), "save", "-o", fromDocker, "dk/tagged:1"]);
    expect(ok(["load", "-i", fromDocker])).toContain("Loaded image: dk/tagged:1");
    expect(embeddedId("dk/tagged:1")).toBe(await dockerId("dk/tagged:1"));

    // The embedded engine's save loads into dockerd, which runs it.
    ok(["tag", "busybox", "emb/tagged:2"]);
    const fromEmbedded = join(dir, "from-embedded.tar");
    ok(["save", "-o", fromEmbedded, "emb/tagged:2"]);
    await expect(dockerId("emb/tagged:2")).rejects.toThrow(/No such image/);
    expect(ok([...onDocker(), "load", "-i", fromEmbedded])).toContain("Loaded image: emb/tagged:2");
    expect(await dockerId("emb/tagged:2")).toBe(embeddedId("emb/tagged:2"));
    expect((await docker.docker(["run", "--rm", "--network", "none", "emb/tagged:2", "echo", "ran-in-dockerd"])).stdout.trim()).toBe("ran-in-dockerd");
    // Not an archive: dockerd's refusal, exit 1.
    writeFileSync(join(dir, "junk.tar"), "not a tar at all");
    const junk = run([...onDocker(), "load", "-i", join(dir, "junk.tar")]);
    expect(junk.code).toBe(1);
    expect(junk.stderr).not.toBe("");

    // import: a root file system tar as a one-layer image in dockerd, with a -c change.
    const rootfs = join(dir, "rootfs");
    mkdirSync(rootfs);
    writeFileSync(join(rootfs, "hello.txt"), "imported\n");
    execFileSync("tar", ["-C", rootfs, "-cf", join(dir, "rootfs.tar"), "."]);
    const id = ok([...onDocker(), "import", "-c", "LABEL via=tscompose", join(dir, "rootfs.tar"), "dk/imported:1"]).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await dockerId("dk/imported:1")).toBe(id);
    expect((await docker.docker(["image", "inspect", "-f", "{{.Config.Labels.via}}", "dk/imported:1"])).stdout.trim()).toBe("tscompose");
    expect(run(["image", "inspect", "dk/imported:1"]).code).toBe(1);

    for (const ref of ["dk/tagged:1", "emb/tagged:2", "dk/imported:1"]) await docker.docker(["rmi", ref]);
    for (const ref of ["dk/tagged:1", "emb/tagged:2"]) ok(["rmi", ref]);
  }, 300_000);

  it("login checks through dockerd and writes the user's config.json; push and pull carry that login to the registry", async () => {
    const auth = authRegistry as TestRegistry;
    const home = mkdtempSync(join((d as TestDaemon).dir, "home-"));
    const env = { DOCKER_CONFIG: join(home, ".docker") };
    const target = `${auth.host}/pushed/busybox:1`;
    ok([...onDocker(), "pull", "-q", "busybox"]);
    ok([...onDocker(), "tag", "busybox", target]);

    // Not logged in: the registry refuses dockerd's push.
    const anonymous = run([...onDocker(), "push", target], env);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/unauthorized|authentication required|no basic auth/i);

    const wrong = run([...onDocker(), "login", "-u", TEST_USER, "--password-stdin", auth.host], env, "not-the-password\n");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/unauthorized|incorrect username or password/i);
    expect(() => readFileSync(join(home, ".docker", "config.json"))).toThrow();

    ok([...onDocker(), "login", "-u", TEST_USER, "--password-stdin", auth.host], env, `${TEST_PASSWORD}\n`);
    const config = JSON.parse(readFileSync(join(home, ".docker", "config.json"), "utf8")) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(config.auths[auth.host]?.auth ?? "", "base64").toString()).toBe(`${TEST_USER}:${TEST_PASSWORD}`);

    ok([...onDocker(), "push", target], env);
    // The registry has it, under the digest dockerd reports for the push.
    const manifest = JSON.parse(await inspectRaw(target, { credentials: auth.credentials })) as { layers?: unknown[] };
    expect(manifest.layers?.length).toBeGreaterThan(0);

    // A pull through dockerd carries the login too: gone from dockerd, pulled back from the registry that wants it.
    await (dockerd as PrivateDockerd).docker(["rmi", target]);
    ok([...onDocker(), "pull", "-q", target], env);
    expect(await dockerId(target)).toMatch(/^sha256:/);
    await (dockerd as PrivateDockerd).docker(["rmi", target]);

    ok(["logout", auth.host], env);
    expect(JSON.parse(readFileSync(join(home, ".docker", "config.json"), "utf8")).auths?.[auth.host]).toBeUndefined();
    // Logged out: the same pull is refused.
    const refused = run([...onDocker(), "pull", "-q", target], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/unauthorized|authentication required|no basic auth/i);
  }, 300_000);

  it("volume, network and system verbs go to the dockerd -H names", async () => {
    const docker = dockerd as PrivateDockerd;
    const dockerVolumes = async (): Promise<string[]> => lines((await docker.docker(["volume", "ls", "-q"])).stdout);
    const dockerNetworks = async (): Promise<string[]> => lines((await docker.docker(["network", "ls", "-q", "--filter", "type=custom", "--format", "{{.Name}}"])).stdout);

    ok([...onDocker(), "volume", "create", "--label", "suite=verbs", "dkvol"]);
    ok(["volume", "create", "embvol"]);
    expect(await dockerVolumes()).toEqual(["dkvol"]);
    expect(lines(ok([...onDocker(), "volume", "ls", "-q"]))).toEqual(["dkvol"]);
    expect(lines(ok(["volume", "ls", "-q"]))).toEqual(["embvol"]);
    expect(JSON.parse(ok([...onDocker(), "volume", "inspect", "dkvol"]))).toMatchObject([{ Name: "dkvol", Labels: { suite: "verbs" } }]);
    // In use by a dockerd container: refused, as docker refuses it.
    await docker.docker(["create", "--name", "verbs-user", "--network", "none", "-v", "dkvol:/data", "busybox", "true"]);
    const inUse = run([...onDocker(), "volume", "rm", "dkvol"]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain("volume is in use");

    ok([...onDocker(), "network", "create", "--label", "suite=verbs", "dknet"]);
    ok(["network", "create", "embnet"]);
    expect(await dockerNetworks()).toEqual(["dknet"]);
    expect(lines(ok([...onDocker(), "network", "ls", "--format", "{{.Name}}"]))).toContain("dknet");
    expect(lines(ok([...onDocker(), "network", "ls", "--format", "{{.Name}}"]))).not.toContain("embnet");
    expect(JSON.parse(ok([...onDocker(), "network", "inspect", "dknet"]))).toMatchObject([{ Name: "dknet", Driver: "bridge", Labels: { suite: "verbs" } }]);

    const df = ok([...onDocker(), "system", "df", "--format", "json"])
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Type: string; TotalCount: number | string });
    const count = (type: string): number => Number(df.find((r) => r.Type === type)?.TotalCount);
    expect(count("Images")).toBe(new Set(lines((await docker.docker(["images", "-q", "--no-trunc"])).stdout)).size);
    expect(count("Containers")).toBe(1);
    expect(count("Local Volumes")).toBe(1);

    // system prune on dockerd: its stopped container and unused network go (with --volumes, no anonymous volume here); the embedded engine's objects stay.
    const pruned = ok([...onDocker(), "system", "prune", "-f"]);
    expect(pruned).toContain("dknet");
    await expect(docker.docker(["inspect", "verbs-user"])).rejects.toThrow(/No such object/);
    expect(await dockerNetworks()).toEqual([]);
    expect(lines(ok(["network", "ls", "--format", "{{.Name}}"]))).toContain("embnet");
    ok([...onDocker(), "volume", "rm", "dkvol"]);
    expect(await dockerVolumes()).toEqual([]);
    ok([...onDocker(), "network", "create", "dknet2"]);
    expect(ok([...onDocker(), "network", "prune", "-f"])).toContain("dknet2");
    ok([...onDocker(), "volume", "create", "dkvol2"]);
    expect(ok([...onDocker(), "volume", "prune", "-a", "-f"])).toContain("dkvol2");
    expect([...(await dockerVolumes()), ...(await dockerNetworks())]).toEqual([]);
    expect(lines(ok(["volume", "ls", "-q"]))).toEqual(["embvol"]);
    ok(["volume", "rm", "embvol"]);
    ok(["network", "rm", "embnet"]);
  }, 300_000);

  it("a stack on a TLS dockerd: up, ps, down with --tlsverify flags and with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH; an untrusted certificate is refused", async () => {
    const daemon = d as TestDaemon;
    const c = certs as ReturnType<typeof makeCertificates>;
    const dir = join(daemon.dir, "tls-stack");
    mkdirSync(dir);
    writeFileSync(join(dir, "compose.yaml"), 'services:\n  web:\n    image: busybox\n    command: ["sleep", "3600"]\n');
    const inDir = (args: string[], env?: NodeJS.ProcessEnv): { code: number; stdout: string; stderr: string } => daemon.cli(args, { cwd: dir, ...(env ? { env } : {}) });
    const okIn = (args: string[], env?: NodeJS.ProcessEnv): string => {
      const r = inDir(args, env);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const running = async (): Promise<string[]> => lines((await (dockerd as PrivateDockerd).docker(["ps", "--format", "{{.Names}}"])).stdout);

    const flags = ["--engine", "docker", "-H", tlsHost, "--tlsverify", "--tlscacert", join(c.client, "ca.pem"), "--tlscert", join(c.client, "cert.pem"), "--tlskey", join(c.client, "key.pem")];
    okIn([...flags, "-p", "tls1", "up", "-d", "--wait"]);
    expect(await running()).toEqual(["tls1-web-1"]);
    const ps = okIn(["-p", "tls1", "ps", "--format", "json"])
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Name: string; State: string; Engine: string });
    expect(ps.map((r) => [r.Name, r.State, r.Engine])).toEqual([["tls1-web-1", "running", "docker"]]);
    okIn(["-p", "tls1", "down"]);
    expect(await running()).toEqual([]);

    const envTls = { TSCOMPOSE_ENGINE: "docker", DOCKER_HOST: tlsHost, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: c.client };
    okIn(["-p", "tls2", "up", "-d", "--wait"], envTls);
    expect(await running()).toEqual(["tls2-web-1"]);
    expect(okIn(["-p", "tls2", "ps", "--format", "{{.Name}} {{.State}}"], envTls).trim()).toBe("tls2-web-1 running");
    okIn(["-p", "tls2", "down"], envTls);
    expect(await running()).toEqual([]);

    // A CA that did not sign dockerd's certificate: refused before anything is made, the host and the CA file named; no record of the stack.
    const refused = inDir(["-p", "tls3", "up", "-d"], { ...envTls, DOCKER_CERT_PATH: c.otherCa });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`docker host ${tlsHost}: its TLS certificate was not trusted by the CA in ${join(c.otherCa, "ca.pem")}`);
    expect(lines(okIn(["ls", "-a", "-q"]))).not.toContain("tls3");
    expect(await running()).toEqual([]);
  }, 300_000);
});
