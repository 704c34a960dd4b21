// `tscompose commit` end to end: the real CLI and daemon, busybox containers
// on runc and overlay. A container changes its image's files in every way a
// layer can say (new, modified, deleted, a directory replaced, hard link,
// symlink, a capability set from the host); the committed image is then read
// three ways: by a container of it on our engine, by GNU tar from `save`'s
// layer, and by a private dockerd (`docker load`, `docker run`). Hostile
// leftovers (links pointing out, a FIFO, a file named like a whiteout) get
// their own container.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateDockerd, type PrivateDockerd } from "./fixtures/dockerd.js";
import { runCli } from "./support/e2e.js";
import { skipUnless } from "./support/requires.js";
import { startStackSuite, stopStackSuite, type StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tcommit${process.pid}`;
const REF = `tscompose-test/commit-${process.pid}:v1`;

const CHANGES = [
  "echo new > /new.txt",
  "echo 'app:x:1000:' >> /etc/group", // modified
  "rm /bin/vi", // deleted: a whiteout
  "rm -rf /var && mkdir -p /var/fresh && echo fresh > /var/fresh/f", // a directory replaced: opaque
  "ln /new.txt /new-link.txt",
  "ln -s /new.txt /sym",
  "echo capped > /capped",
].join(" && ");

const STACK = `
services:
  app:
    image: busybox
    command: ["sh", "-c", "${CHANGES} && trap 'exit 0' TERM; echo ready; while true; do sleep 1; done"]
  hostile:
    image: busybox
    command: ["sh", "-c", "ln -s /etc/shadow /abs-out && ln -s ../../../../../../../etc/hostname /rel-out && mkfifo /fifo && trap 'exit 0' TERM; echo ready; while true; do sleep 1; done"]
`;

const cli = (...args: string[]) => runCli(s.daemon, args, { cwd: s.work });
const ok = (...args: string[]): string => {
  const r = cli(...args);
  if (r.code !== 0) throw new Error(`tscompose ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
};
const container = (service: string) => `${project}-${service}-1`;
const inspectImage = (ref: string) => (JSON.parse(ok("image", "inspect", ref)) as Array<{ Id: string; Author: string; Comment: string; Config: Record<string, unknown>; RootFS: { Layers: string[] } }>)[0]!;

/** The files of a `save` archive: manifest.json and the config and layers it names. */
function saved(ref: string): { dir: string; config: { history: Array<Record<string, unknown>> }; layers: string[] } {
  const dir = join(s.work, `save-${Math.random().toString(16).slice(2)}`);
  mkdirSync(dir);
  ok("save", "-o", join(dir, "image.tar"), ref);
  execFileSync("tar", ["-xf", join(dir, "image.tar"), "-C", dir]);
  const [manifest] = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Array<{ Config: string; Layers: string[] }>;
  return { dir, config: JSON.parse(readFileSync(join(dir, manifest!.Config), "utf8")) as { history: Array<Record<string, unknown>> }, layers: manifest!.Layers.map((l) => join(dir, l)) };
}

beforeAll(async () => {
  s = await startStackSuite("commit");
  s.projects.push({ name: project, cwd: s.work });
  writeFileSync(join(s.work, "compose.yaml"), STACK);
  const up = cli("-p", project, "up", "-d", "--wait");
  expect(up.stderr + up.stdout).not.toMatch(/error/i);
  expect(up.code).toBe(0);
}, 240_000);

afterAll(async () => {
  for (const p of s?.projects ?? []) cli("-p", p.name, "down", "-t", "0");
  for (const ref of [REF, `${REF}-again`, `${REF}-again2`, `${REF}-cap`, `${REF}-hostile`]) cli("rmi", "-f", ref);
  expect(await stopStackSuite(s)).toEqual([]);
}, 120_000);

/** The container's upper dir on the host (the snapshotter's layout: snapshots/containers/ID/upper). */
function upperOf(name: string): string {
  const rows = JSON.parse(`[${ok("-p", project, "ps", "-a", "--format", "json").trim().split("\n").join(",")}]`) as Array<{ ID: string; Name: string }>;
  const row = rows.find((r) => r.Name === name);
  const root = join(s.daemon.stateDir, "snapshots", "containers");
  const id = execFileSync("ls", [root], { encoding: "utf8" }).split("\n").find((d) => d.startsWith(row!.ID));
  return join(root, id!, "upper");
}

const hasSetcap = existsSync("/usr/sbin/setcap") || existsSync("/sbin/setcap");

describe("commit", () => {
  let imageId = "";

  it("prints the new image's ID; inspect shows the author, the message and the -c changes; the container runs on", () => {
    const out = ok("commit", "-a", "Test Author <t@example.com>", "-m", "the changes", "-c", "ENV COMMITTED=yes", "-c", 'CMD ["cat", "/new.txt"]', "-c", "LABEL org.example.k=v", container("app"), REF);
    imageId = out.trim();
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const img = inspectImage(REF);
    expect(img.Id).toBe(imageId);
    expect(img.Author).toBe("Test Author <t@example.com>");
    expect(img.Comment).toBe("the changes");
    expect(img.Config.Env).toContain("COMMITTED=yes");
    expect(img.Config.Cmd).toEqual(["cat", "/new.txt"]);
    expect(img.Config.Labels).toMatchObject({ "org.example.k": "v" });
    expect(img.RootFS.Layers).toHaveLength(inspectImage("busybox").RootFS.Layers.length + 1);
    // Paused for the commit, thawed after: it still answers.
    expect(ok("-p", project, "exec", "-T", "app", "cat", "/new.txt")).toBe("new\n");
  });

  it("a container of the new image sees exactly those changes", () => {
    const derived = join(s.work, "derived");
    mkdirSync(derived);
    writeFileSync(join(derived, "compose.yaml"), `services:\n  derived:\n    image: ${REF}\n    pull_policy: never\n    command: ["sleep", "3600"]\n`);
    s.projects.push({ name: `${project}d`, cwd: derived });
    const up = runCli(s.daemon, ["-p", `${project}d`, "up", "-d", "--wait"], { cwd: derived });
    expect(up.code, up.stderr).toBe(0);
    const script = [
      "cat /new.txt",
      "tail -n 1 /etc/group",
      "test -e /bin/vi && echo vi-there || echo vi-gone",
      "test -e /bin/sh && echo sh-there", // positive control of the whiteout
      "ls /var",
      "cat /var/fresh/f",
      "stat -c %h /new.txt",
      "test $(stat -c %i /new.txt) = $(stat -c %i /new-link.txt) && echo same-inode",
      "readlink /sym",
      "echo $COMMITTED",
    ].join("; ");
    const r = runCli(s.daemon, ["-p", `${project}d`, "exec", "-T", "derived", "sh", "-c", script], { cwd: derived });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")).toEqual(["new", "app:x:1000:", "vi-gone", "sh-there", "fresh", "fresh", "2", "same-inode", "/new.txt", "yes", ""]);
    // The control: the base image still has what the container removed.
    expect(ok("-p", project, "exec", "-T", "hostile", "sh", "-c", "test -e /bin/vi && ls /var")).toBe("www\n");
  });

  it("a file capability set on the container's file is in the layer as a PAX xattr", (ctx) => {
    if (!hasSetcap) return skipUnless(ctx, "setcap (Debian: libcap2-bin)", false);
    // cap_setuid is bit 7: the value has a 0x80 byte, not UTF-8 (the binary path: PAX raw and libarchive base64).
    execFileSync("setcap", ["cap_setuid,cap_net_raw+ep", join(upperOf(container("app")), "capped")]);
    ok("commit", container("app"), `${REF}-cap`);
    const { layers } = saved(`${REF}-cap`);
    const listing = execFileSync("tar", ["--xattrs", "--xattrs-include=*", "-tvvf", layers.at(-1)!], { encoding: "utf8" });
    expect(listing).toMatch(/ capped\n\s+x: +20 security\.capability/);
    expect(listing).not.toMatch(/ new\.txt\n\s+x:/); // the control: only the capped file has it
    // GNU tar restores both capabilities from the layer (the raw PAX bytes).
    const file = join(s.work, "cap-check");
    mkdirSync(file);
    execFileSync("tar", ["--xattrs", "--xattrs-include=*", "-xf", layers.at(-1)!, "-C", file, "capped"]);
    expect(execFileSync("getcap", [join(file, "capped")], { encoding: "utf8" })).toMatch(/cap_setuid,cap_net_raw[=+]ep/);
  });

  it("the layer is kept uncompressed in the store, as docker's local store keeps it (the base's pulled layers stay gzip)", () => {
    const id = inspectImage(REF).Id.replace(/^sha256:/, "");
    const record = JSON.parse(readFileSync(join(s.daemon.stateDir, "images", "by-id", `${id}.json`), "utf8")) as { layers: { blob: { digest: string } }[] };
    const head = (digest: string): string => readFileSync(join(s.daemon.stateDir, "content", "blobs", "sha256", digest.replace(/^sha256:/, ""))).subarray(0, 2).toString("hex");
    expect(record.layers.length).toBeGreaterThan(1);
    // gzip's magic 1f8b: the pulled base layer has it (the control), the committed one does not.
    expect(head(record.layers[0]!.blob.digest)).toBe("1f8b");
    expect(head(record.layers.at(-1)!.blob.digest)).not.toBe("1f8b");
  });

  it("the history has the commit's entry; the layer is docker's notation (GNU tar reads it)", () => {
    const { config, layers } = saved(REF);
    const last = config.history.at(-1)!;
    expect(last).toMatchObject({ author: "Test Author <t@example.com>", comment: "the changes" });
    expect(String(last.created_by)).toContain("sh -c");
    const listing = execFileSync("tar", ["-tvf", layers.at(-1)!], { encoding: "utf8" });
    expect(listing).toMatch(/ bin\/\.wh\.vi$/m);
    expect(listing).toMatch(/ var\/\.wh\.\.wh\.\.opq$/m);
    // Sorted by name bytes: "new-link.txt" comes first, so it holds the data.
    expect(listing).toMatch(/^h.* new\.txt link to new-link\.txt$/m);
    // runc's mount points for the engine's /etc files are not changes (docker keeps them below the container's layer).
    expect(listing).not.toMatch(/etc\/(hosts|hostname|resolv\.conf)$/m);
    expect(listing).toMatch(/^l.* sym -> \/new\.txt$/m);
  });

  it("committing again without changes gives the same layer (diffID)", () => {
    ok("-p", project, "stop", "-t", "0", "app");
    // Not REF: the peer check below runs REF's CMD (-c), which a plain commit would replace with the container's.
    const first = ok("commit", container("app"), `${REF}-again`).trim();
    const again = ok("commit", container("app"), `${REF}-again2`).trim();
    expect(inspectImage(`${REF}-again2`).RootFS.Layers.at(-1)).toBe(inspectImage(`${REF}-again`).RootFS.Layers.at(-1));
    // Same layers, but another creation time: another image, as docker's.
    expect(again).not.toBe(first);
    ok("-p", project, "start", "app");
  });
});

describe("commit of hostile changes", () => {
  it("links pointing out stay links and a FIFO stays a FIFO: nothing is followed", () => {
    ok("commit", container("hostile"), `${REF}-hostile`);
    const { layers } = saved(`${REF}-hostile`);
    const listing = execFileSync("tar", ["-tvf", layers.at(-1)!], { encoding: "utf8" });
    expect(listing).toMatch(/^l.* abs-out -> \/etc\/shadow$/m);
    expect(listing).toMatch(/^l.* rel-out -> (\.\.\/){7}etc\/hostname$/m);
    expect(listing).toMatch(/^p.* fifo$/m);
    expect(listing).not.toMatch(/root:/); // no host file's content came in
  });

  it("a file named like a whiteout is refused with its name; no image is made", () => {
    ok("-p", project, "exec", "-T", "hostile", "touch", "/tmp/.wh.x");
    const before = ok("images", "-q", "-a");
    const r = cli("commit", container("hostile"), `${REF}-refused`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/tmp\/\.wh\.x: a file whose name starts with "\.wh\." cannot be put in a layer/);
    expect(ok("images", "-q", "-a")).toBe(before);
    // Still running, thawed.
    expect(ok("-p", project, "exec", "-T", "hostile", "echo", "alive")).toBe("alive\n");
    ok("-p", project, "exec", "-T", "hostile", "rm", "/tmp/.wh.x");
  });
});

describe("commit, checked by a real Docker daemon", () => {
  let dockerd: PrivateDockerd | undefined;
  let why = "";
  beforeAll(async () => {
    try {
      dockerd = await startPrivateDockerd();
    } catch (err) {
      why = (err as Error).message;
    }
  }, 60_000);
  afterAll(async () => {
    await dockerd?.stop();
  }, 60_000);

  it("docker load takes the committed image and docker run sees the changes", async (ctx) => {
    if (!dockerd) return skipUnless(ctx, `a private dockerd (${why})`, false);
    const { dir } = saved(REF);
    // Each step bounded, so a hang names its step (and dockerd's log says why).
    const docker = async (args: string[]): Promise<string> => {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`docker ${args.join(" ")} took over 90 s; dockerd log:\n${readFileSync(join(peer.dir, "dockerd.log"), "utf8").split("\n").slice(-10).join("\n")}`)), 90_000)));
      try {
        return (await Promise.race([peer.docker(args), limit])).stdout;
      } finally {
        clearTimeout(timer);
      }
    };
    const peer = dockerd;
    expect(await docker(["load", "-i", join(dir, "image.tar")])).toContain(`Loaded image: ${REF}`);
    expect(await docker(["run", "--rm", "--network", "none", REF])).toBe("new\n");
    const seen = await docker(["run", "--rm", "--network", "none", "--entrypoint", "sh", REF, "-c", "test -e /bin/vi || echo vi-gone; ls /var; readlink /sym; stat -c %h /new.txt"]);
    expect(seen).toBe("vi-gone\nfresh\n/new.txt\n2\n");
    await docker(["rmi", "-f", REF]);
    // The layer with a binary capability (PAX raw bytes and a libarchive record) loads too.
    const capped = saved(`${REF}-cap`);
    expect(await docker(["load", "-i", join(capped.dir, "image.tar")])).toContain(`Loaded image: ${REF}-cap`);
    expect(await docker(["run", "--rm", "--network", "none", "--entrypoint", "cat", `${REF}-cap`, "/capped"])).toBe("capped\n");
    await docker(["rmi", "-f", `${REF}-cap`]);
  }, 240_000);
});
