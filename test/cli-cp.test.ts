// `tscompose cp` end to end: the real CLI against a real daemon on the
// embedded engine, a busybox service running and stopped. docker cp's path
// rules both ways, -a and -L, and hostile links in the container (`/` and
// `../../..`, `/app -> /etc`, a directory swapped for a link while we read):
// a host canary is never read nor written.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin } from "./support/daemon.js";
import { runCli } from "./support/e2e.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tcp${process.pid}`;
// The canary lives on the host at a path the container does not have: any escape would find it.
const tag = `tscompose-cp-canary-${randomBytes(4).toString("hex")}`;
const canaryDir = `/tmp/${tag}`;
const CANARY = "HOST SECRET, never to be read by a copy\n";

const STACK = `
services:
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
  multi:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    deploy:
      replicas: 2
`;

const cp = (...args: string[]) => runCli(s.daemon, ["-p", project, "cp", ...args], { cwd: s.work });
/** The CLI run without blocking; its exit code does not matter to the caller (a copy racing a swap may fail). */
const cpAsync = (...args: string[]) =>
  new Promise<void>((resolve) => execFile(process.execPath, [bin, "-p", project, "cp", ...args], { cwd: s.work, env: s.daemon.env, timeout: 120_000 }, () => resolve()));
const sh = (script: string) => {
  const r = runCli(s.daemon, ["-p", project, "exec", "-T", "app", "sh", "-c", script], { cwd: s.work });
  if (r.code !== 0) throw new Error(`exec failed (${r.code}): ${r.stderr}`);
  return r.stdout;
};
const local = (...p: string[]) => join(s.work, ...p);

beforeAll(async () => {
  s = await startStackSuite("cp");
  s.projects.push({ name: project, cwd: s.work });
  writeFileSync(join(s.work, "compose.yaml"), STACK);
  mkdirSync(canaryDir);
  writeFileSync(join(canaryDir, "canary"), CANARY);
  const up = runCli(s.daemon, ["-p", project, "up", "-d"], { cwd: s.work });
  expect(up.stderr + up.stdout).not.toMatch(/error/i);
  expect(up.code).toBe(0);
  sh(
    [
      "mkdir -p /data/sub /dst /tmp",
      "echo hello > /data/a.txt",
      "echo deep > /data/sub/b.txt",
      "ln -s a.txt /data/rel-link",
      "ln -s / /rootlink",
      "ln -s ../../../../../.. /up",
      "ln -s /etc /app",
      `ln -s ${canaryDir}/canary /data/canary-link`,
    ].join(" && "),
  );
}, 300_000);

afterAll(async () => {
  rmSync(canaryDir, { recursive: true, force: true });
  expect(await stopStackSuite(s)).toEqual([]);
}, 180_000);

describe("cp out of a container", () => {
  it("a file to a new name, and into an existing directory", () => {
    expect(cp("app:/data/a.txt", "out-a.txt").code).toBe(0);
    expect(readFileSync(local("out-a.txt"), "utf8")).toBe("hello\n");
    mkdirSync(local("into"));
    expect(cp("app:/data/a.txt", "into").code).toBe(0);
    expect(readFileSync(local("into", "a.txt"), "utf8")).toBe("hello\n");
  });

  it("a directory: to a new name (its contents), into an existing one, and its contents with /.", () => {
    expect(cp("app:/data", "new-dir").code).toBe(0);
    expect(readFileSync(local("new-dir", "sub", "b.txt"), "utf8")).toBe("deep\n");
    mkdirSync(local("existing"));
    expect(cp("app:/data", "existing").code).toBe(0);
    expect(readFileSync(local("existing", "data", "a.txt"), "utf8")).toBe("hello\n");
    mkdirSync(local("contents"));
    expect(cp("app:/data/.", "contents").code).toBe(0);
    expect(readdirSync(local("contents")).sort()).toEqual(["a.txt", "canary-link", "rel-link", "sub"]);
  });

  it("a link is copied as a link; -L copies what it points to, inside the container", () => {
    expect(cp("app:/data/rel-link", "link-as-is").code).toBe(0);
    expect(readlinkSync(local("link-as-is"))).toBe("a.txt");
    expect(cp("-L", "app:/data/rel-link", "link-followed").code).toBe(0);
    expect(readFileSync(local("link-followed"), "utf8")).toBe("hello\n");
    // The container's link names the host canary's path: followed in the container, there is nothing there.
    const r = cp("-L", "app:/data/canary-link", "canary-followed");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not find/);
    expect(existsSync(local("canary-followed"))).toBe(false);
  });

  it("links to / and ../../.. lead to the container's root, never the host's", () => {
    for (const via of ["/rootlink", "/up", "/data/../up/../.."]) {
      const out = local(`escape-${via.replace(/\W/g, "")}`);
      const r = cp(`app:${via}${canaryDir}/canary`, out);
      expect(r.code).toBe(1);
      expect(existsSync(out)).toBe(false);
      // Positive control, same route: the container's own file comes out.
      expect(cp(`app:${via}/data/a.txt`, out).code).toBe(0);
      expect(readFileSync(out, "utf8")).toBe("hello\n");
    }
    // /app -> /etc: the container's /etc/passwd, as the container reads it.
    expect(cp("app:/app/passwd", "passwd").code).toBe(0);
    expect(readFileSync(local("passwd"), "utf8")).toBe(sh("cat /etc/passwd"));
  });

  it("a directory swapped for a link to / while it is copied never yields the host's files", async () => {
    // A loop in the container flips /race/d between a directory and a link to "/": a read resolved on the host would reach the canary.
    sh(`mkdir -p /race/d && echo mine > /race/d/f && (while [ ! -e /race/stop ]; do mv /race/d /race/x; ln -s / /race/d; rm /race/d; mv /race/x /race/d; done) >/dev/null 2>&1 &`);
    try {
      // Async: 15 copies in a row must not block the test worker's event loop (vitest's RPC times out).
      for (let i = 0; i < 15; i++) await cpAsync("app:/race", local(`race-${i}`));
    } finally {
      sh("touch /race/stop");
    }
    const seen: string[] = [];
    const walk = (p: string): void => {
      const st = lstatSync(p);
      if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
      else if (st.isFile()) seen.push(readFileSync(p, "utf8"));
    };
    for (let i = 0; i < 15; i++) if (existsSync(local(`race-${i}`))) walk(local(`race-${i}`));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((t) => t === CANARY)).toEqual([]);
  }, 120_000);

  it("DST - writes SRC as a tar on stdout, named as SRC's last component, owners kept", () => {
    const r = spawnSync(process.execPath, [bin, "-p", project, "cp", "app:/data", "-"], { cwd: s.work, env: s.daemon.env, timeout: 120_000 });
    expect(r.stderr.toString()).toBe("");
    expect(r.status).toBe(0);
    writeFileSync(local("data.tar"), r.stdout);
    const names = execFileSync("tar", ["-tf", local("data.tar")], { encoding: "utf8" }).trim().split("\n");
    expect(names).toContain("data/a.txt");
    expect(names).toContain("data/sub/b.txt");
    expect(names.every((n) => n === "data/" || n.startsWith("data/"))).toBe(true);
    expect(execFileSync("tar", ["-xOf", local("data.tar"), "data/sub/b.txt"], { encoding: "utf8" })).toBe("deep\n");
    // Through a link to "/": still the container's file, and the host canary's path is not there.
    const escape = spawnSync(process.execPath, [bin, "-p", project, "cp", `app:/rootlink${canaryDir}`, "-"], { cwd: s.work, env: s.daemon.env, timeout: 120_000 });
    expect(escape.status).toBe(1);
    expect(escape.stdout.length).toBe(0);
  });

  it("-a keeps the container's uid/gid; without it the files are the daemon's user's", () => {
    sh("echo owned > /data/owned && chown 1234:2345 /data/owned");
    expect(cp("app:/data/owned", "owned-plain").code).toBe(0);
    expect(statSync(local("owned-plain")).uid).toBe(0);
    expect(cp("-a", "app:/data/owned", "owned-archive").code).toBe(0);
    const st = statSync(local("owned-archive"));
    expect([st.uid, st.gid]).toEqual([1234, 2345]);
  });
});

describe("cp into a container", () => {
  it("a file to a new name and into a directory; a directory with and without /.", () => {
    writeFileSync(local("in.txt"), "from host\n");
    mkdirSync(local("tree", "inner"), { recursive: true });
    writeFileSync(local("tree", "inner", "t.txt"), "tree\n");
    expect(cp("in.txt", "app:/dst/renamed.txt").code).toBe(0);
    expect(cp("in.txt", "app:/dst").code).toBe(0);
    expect(cp("tree", "app:/dst").code).toBe(0);
    expect(cp("tree/.", "app:/dst").code).toBe(0);
    expect(cp("tree", "app:/newtree").code).toBe(0);
    expect(sh("cat /dst/renamed.txt /dst/in.txt /dst/tree/inner/t.txt /dst/inner/t.txt /newtree/inner/t.txt")).toBe("from host\nfrom host\ntree\ntree\ntree\n");
  });

  it("bad paths are errors that touch nothing", () => {
    writeFileSync(local("bad.txt"), "x\n");
    const missingParent = cp("bad.txt", "app:/no/such/dir/f");
    expect(missingParent.code).toBe(1);
    expect(missingParent.stderr).toMatch(/no such directory/);
    expect(cp("tree", "app:/dst/renamed.txt").stderr).toMatch(/cannot copy a directory to a file/);
    expect(cp("app:/data/a.txt", "app:/x").stderr).toMatch(/copying between services is not supported/);
    expect(cp("in.txt", "nosuch:/x").stderr).toMatch(/no container found for service "nosuch"/);
    expect(cp("--index", "2", "in.txt", "app:/x").stderr).toMatch(/no container #2/);
    expect(sh("ls /no /x 2>&1 || true")).toMatch(/No such file/);
  });

  it("links to / and ../../.. and /app -> /etc land in the container, never on the host", () => {
    writeFileSync(local("payload"), "payload\n");
    for (const via of ["/rootlink", "/up", "/app/../up"]) expect(cp("payload", `app:${via}/tmp/${tag}-written`).code).toBe(0);
    expect(cp("payload", `app:/app/${tag}-written`).code).toBe(0);
    expect(existsSync(`/tmp/${tag}-written`)).toBe(false);
    expect(existsSync(`/etc/${tag}-written`)).toBe(false);
    expect(sh(`cat /tmp/${tag}-written /etc/${tag}-written`)).toBe("payload\npayload\n");
    // The canary directory's path does not exist in the container: writing under it through a link fails there.
    const r = cp("payload", `app:/rootlink${canaryDir}/canary`);
    expect(r.code).toBe(1);
    expect(readFileSync(join(canaryDir, "canary"), "utf8")).toBe(CANARY);
    expect(readdirSync(canaryDir)).toEqual(["canary"]);
  });

  it("SRC -: a tar from stdin is unpacked into DST; -a keeps its owners; an escaping entry is refused", () => {
    mkdirSync(local("tarsrc", "pkg"), { recursive: true });
    writeFileSync(local("tarsrc", "pkg", "p.txt"), "packed\n");
    const tarball = execFileSync("tar", ["--owner=0:0", "-C", local("tarsrc"), "-cf", "-", "pkg"]);
    const owned = execFileSync("tar", ["--owner=1111", "--group=2222", "--numeric-owner", "-C", local("tarsrc"), "-cf", "-", "pkg"]);
    const put = (args: string[], input: Buffer) => spawnSync(process.execPath, [bin, "-p", project, "cp", ...args], { cwd: s.work, env: s.daemon.env, input, timeout: 120_000 });
    const r = put(["-", "app:/dst"], tarball);
    expect(r.stderr.toString()).toBe("");
    expect(r.status).toBe(0);
    expect(put(["-a", "-", "app:/tmp"], owned).status).toBe(0);
    expect(sh("cat /dst/pkg/p.txt; stat -c %u:%g /tmp/pkg/p.txt")).toBe("packed\n1111:2222\n");
    // Not a directory: refused.
    expect(put(["-", "app:/dst/pkg/p.txt"], tarball).stderr.toString()).toMatch(/not a directory/);
    // An entry that climbs out ("../../<tag>-tar"), made by hand: refused, nothing written on the host or in the container.
    writeFileSync(local("climb"), "climb\n");
    const evil = execFileSync("tar", ["-C", s.work, "-cf", "-", "--transform", `s,^climb$,../../../tmp/${tag}-tar,`, "climb"]);
    const bad = put(["-", "app:/dst"], evil);
    expect(bad.status).toBe(1);
    expect(existsSync(`/tmp/${tag}-tar`)).toBe(false);
    expect(sh(`ls /tmp/${tag}-tar 2>&1 || true`)).toMatch(/No such file/);
  });

  it("files belong to root in the container; -a keeps the host's uid/gid", () => {
    writeFileSync(local("mine"), "mine\n");
    chownSync(local("mine"), 4321, 5432);
    expect(cp("mine", "app:/dst/plain").code).toBe(0);
    expect(cp("-a", "mine", "app:/dst/archived").code).toBe(0);
    expect(sh("stat -c %u:%g /dst/plain /dst/archived")).toBe("0:0\n4321:5432\n");
  });
});

describe("export", () => {
  it("writes the container's own file system as a tar: links as links, owners kept, mounts empty", () => {
    sh("echo owned > /data/exp-owned && chown 1234:2345 /data/exp-owned");
    const r = runCli(s.daemon, ["-p", project, "export", "app", "-o", "app.tar"], { cwd: s.work });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const list = execFileSync("tar", ["--numeric-owner", "-tvf", local("app.tar")], { encoding: "utf8" }).split("\n");
    const names = execFileSync("tar", ["-tf", local("app.tar")], { encoding: "utf8" }).split("\n");
    expect(names).toContain("data/a.txt");
    expect(names).toContain("bin/busybox");
    expect(names).toContain("proc/");
    expect(names.filter((n) => n.startsWith("proc/") && n !== "proc/")).toEqual([]);
    expect(list.find((l) => l.endsWith(" rootlink -> /"))).toMatch(/^l/);
    expect(list.find((l) => l.endsWith(" data/exp-owned"))).toMatch(/ 1234\/2345 /);
    expect(execFileSync("tar", ["-xOf", local("app.tar"), "data/a.txt"], { encoding: "utf8" })).toBe("hello\n");
    // The host canary's directory is nowhere in it.
    expect(names.filter((n) => n.startsWith(`tmp/${tag}/`) || n === `tmp/${tag}`)).toEqual([]);
  });

  it("refuses stdout and an unknown service", () => {
    expect(runCli(s.daemon, ["-p", project, "export", "app"], { cwd: s.work }).stderr).toMatch(/-o FILE/);
    expect(runCli(s.daemon, ["-p", project, "export", "nosuch", "-o", "x.tar"], { cwd: s.work }).code).toBe(1);
    expect(existsSync(local("x.tar"))).toBe(false);
  });
});

describe("cp with replicas", () => {
  it("without --index copies into every container and out of the first; --index picks one", () => {
    const exec = (index: number, script: string) => runCli(s.daemon, ["-p", project, "exec", "-T", "--index", String(index), "multi", "sh", "-c", script], { cwd: s.work });
    writeFileSync(local("to-all"), "all\n");
    writeFileSync(local("to-two"), "two\n");
    expect(cp("to-all", "multi:/").code).toBe(0);
    expect(cp("--index", "2", "to-two", "multi:/").code).toBe(0);
    expect(exec(1, "cat /to-all; ls /to-two 2>&1 || true").stdout).toMatch(/^all\n.*No such file/s);
    expect(exec(2, "cat /to-all /to-two").stdout).toBe("all\ntwo\n");
    expect(exec(1, "echo one > /who").code).toBe(0);
    expect(exec(2, "echo two > /who").code).toBe(0);
    expect(cp("multi:/who", "who-first").code).toBe(0);
    expect(readFileSync(local("who-first"), "utf8")).toBe("one\n");
    expect(cp("--index", "2", "multi:/who", "who-second").code).toBe(0);
    expect(readFileSync(local("who-second"), "utf8")).toBe("two\n");
  });
});

describe("cp with a stopped container", () => {
  it("copies both ways through its root file system, links still resolved inside it", () => {
    expect(runCli(s.daemon, ["-p", project, "stop", "-t", "1", "app"], { cwd: s.work }).code).toBe(0);
    try {
      expect(cp("app:/data/a.txt", "stopped-out.txt").code).toBe(0);
      expect(readFileSync(local("stopped-out.txt"), "utf8")).toBe("hello\n");
      expect(cp(`app:/rootlink${canaryDir}/canary`, "stopped-canary").code).toBe(1);
      expect(existsSync(local("stopped-canary"))).toBe(false);
      writeFileSync(local("stopped-in.txt"), "while stopped\n");
      expect(cp("stopped-in.txt", "app:/up/dst/").code).toBe(0);
      expect(cp("stopped-in.txt", `app:/rootlink/tmp/${tag}-stopped`).code).toBe(0);
      expect(existsSync(`/tmp/${tag}-stopped`)).toBe(false);
    } finally {
      expect(runCli(s.daemon, ["-p", project, "start", "app"], { cwd: s.work }).code).toBe(0);
    }
    expect(sh(`cat /dst/stopped-in.txt /tmp/${tag}-stopped`)).toBe("while stopped\nwhile stopped\n");
  });
});
