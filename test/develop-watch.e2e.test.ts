// develop.watch end to end, as `docker compose watch` behaves: with a stack
// up in watch mode, edits under a sync rule reach the running container
// (new, changed, deleted files, directories), ignored files do not,
// sync+restart restarts the container, rebuild recreates it, and symlinks a
// container made to the host's directories never let a sync write outside it.
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { psRows, startStackSuite, stopStackSuite, until } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `dw${process.pid}`;
const marker = `tscompose-dw-${process.pid}`;
let outside: string;

function execOut(service: string, cmd: string[]): string | undefined {
  const r = s.daemon.cli(["-p", project, "exec", "-T", service, ...cmd], { cwd: s.work });
  return r.code === 0 ? r.stdout : undefined;
}

const cat = (path: string): string | undefined => execOut("web", ["cat", path]);

function running(service: string): string | undefined {
  return psRows(s.daemon, project, s.work).find((r) => r.Service === service && r.State === "running")?.ID;
}

beforeAll(async () => {
  s = await startStackSuite("develop-watch");
  s.projects.push({ name: project, cwd: s.work });
  outside = join(s.work, "outside");
  for (const d of ["src", "conf", "api-src", "hostile", "outside", "owned"]) mkdirSync(join(s.work, d));
  // Present before watching starts: compose does no initial sync, neither do we.
  writeFileSync(join(s.work, "src", "pre.txt"), "pre\n");
  const up = "../../../../../../../../../..";
  writeFileSync(
    join(s.work, "compose.yaml"),
    [
      "services:",
      "  web:",
      "    image: busybox",
      // Each start appends a line to /started; the container plants hostile symlinks to the host's paths.
      `    command: ["sh", "-c", "echo up >> /started; mkdir -p /app; ln -sfn /etc /app/etc-link; ln -sfn ${outside} /app/abs-link; ln -sfn ${up}${outside} /app/dotdot-link; exec sleep 600"]`,
      "    stop_signal: SIGKILL",
      "    develop:",
      "      watch:",
      "        - path: ./src",
      "          action: sync",
      "          target: /app/src",
      "          ignore: ['*.tmp', 'cache/']",
      "        - path: ./conf",
      "          action: sync+restart",
      "          target: /etc/web",
      "        - path: ./hostile",
      "          action: sync",
      "          target: /app/etc-link",
      "        - path: ./hostile",
      "          action: sync",
      "          target: /app/abs-link",
      "        - path: ./hostile",
      "          action: sync",
      "          target: /app/dotdot-link",
      "  api:",
      "    image: busybox",
      "    command: ['sleep', '600']",
      "    stop_signal: SIGKILL",
      "    develop:",
      "      watch:",
      "        - path: ./api-src",
      "          action: rebuild",
      "  owned:",
      "    image: busybox",
      "    user: '1234:2345'",
      "    command: ['sleep', '600']",
      "    stop_signal: SIGKILL",
      "    develop:",
      "      watch:",
      "        - path: ./owned",
      "          action: sync",
      "          target: /srv/owned",
      "",
    ].join("\n"),
  );
  const r = s.daemon.cli(["-p", project, "up", "-d", "--watch"], { cwd: s.work });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  await until(() => s.daemon.log(), (l) => l.includes("develop.watch ready"));
}, 300_000);

afterAll(async () => {
  const left = await stopStackSuite(s);
  expect(left).toEqual([]);
}, 120_000);

describe("develop.watch", () => {
  it("syncs an edited file into the running container, and does no initial sync", async () => {
    writeFileSync(join(s.work, "src", "a.txt"), "one\n");
    await until(() => cat("/app/src/a.txt"), (v) => v === "one\n");
    writeFileSync(join(s.work, "src", "a.txt"), "two\n");
    await until(() => cat("/app/src/a.txt"), (v) => v === "two\n");
    expect(cat("/app/src/pre.txt")).toBeUndefined();
    expect(s.daemon.log()).toMatch(/Syncing service \\"web\\" after \d+ changes? w(as|ere) detected/);
  });

  it("propagates new directories recursively and deletions, and leaves ignored files out", async () => {
    writeFileSync(join(s.work, "src", "x.tmp"), "ignored\n");
    writeFileSync(join(s.work, "src", ".a.txt.swp"), "vim\n");
    mkdirSync(join(s.work, "src", "cache"));
    writeFileSync(join(s.work, "src", "cache", "c"), "ignored\n");
    mkdirSync(join(s.work, "src", "sub", "deep"), { recursive: true });
    writeFileSync(join(s.work, "src", "sub", "deep", "b.txt"), "deep\n");
    await until(() => cat("/app/src/sub/deep/b.txt"), (v) => v === "deep\n");
    // Written before the file that arrived: had they been synced, they would be there by now.
    expect(cat("/app/src/x.tmp")).toBeUndefined();
    expect(cat("/app/src/.a.txt.swp")).toBeUndefined();
    expect(cat("/app/src/cache/c")).toBeUndefined();
    rmSync(join(s.work, "src", "a.txt"));
    await until(() => cat("/app/src/a.txt"), (v) => v === undefined);
    rmSync(join(s.work, "src", "sub"), { recursive: true });
    await until(() => cat("/app/src/sub/deep/b.txt"), (v) => v === undefined);
  });

  it("never writes through the container's symlinks onto the host", async () => {
    writeFileSync(join(s.work, "hostile", marker), "planted\n");
    // Each link resolves inside the container: /etc, and the host's paths re-rooted in it.
    await until(() => cat(`/etc/${marker}`), (v) => v === "planted\n");
    await until(() => cat(`${outside}/${marker}`), (v) => v === "planted\n");
    expect(existsSync(`/etc/${marker}`)).toBe(false);
    expect(readdirSync(outside)).toEqual([]);
    rmSync(join(s.work, "hostile", marker));
    await until(() => cat(`/etc/${marker}`), (v) => v === undefined);
    expect(existsSync(`/etc/${marker}`)).toBe(false);
  });

  it("sync+restart syncs, then restarts the container", async () => {
    const id = running("web");
    expect(cat("/started")).toBe("up\n");
    writeFileSync(join(s.work, "conf", "web.ini"), "port=1\n");
    await until(() => cat("/started"), (v) => v === "up\nup\n");
    expect(cat("/etc/web/web.ini")).toBe("port=1\n");
    // The same container, restarted (not recreated).
    expect(running("web")).toBe(id);
  });

  it("rebuild pulls and recreates the service's container, and only that one", async () => {
    const api = await until(() => running("api"), (v) => v !== undefined);
    const web = running("web");
    writeFileSync(join(s.work, "api-src", "main.go"), "package main\n");
    await until(() => running("api"), (v) => v !== undefined && v !== api);
    expect(running("web")).toBe(web);
  });

  it("leaves synced files to the container's user, with their mode", async () => {
    writeFileSync(join(s.work, "owned", "run.sh"), "#!/bin/sh\necho hi\n");
    chmodSync(join(s.work, "owned", "run.sh"), 0o750);
    await until(() => execOut("owned", ["stat", "-c", "%u:%g %a", "/srv/owned/run.sh", "/srv/owned"]), (v) => v !== undefined);
    expect(execOut("owned", ["stat", "-c", "%u:%g %a", "/srv/owned/run.sh", "/srv/owned"])).toBe("1234:2345 750\n1234:2345 755\n");
    expect(execOut("owned", ["/srv/owned/run.sh"])).toBe("hi\n");
  });

  it("follows the rules again after the daemon restarts", async () => {
    await s.daemon.stop();
    await s.daemon.start();
    await until(() => s.daemon.log().split("develop.watch ready").length - 1, (n) => n >= 2);
    writeFileSync(join(s.work, "src", "after-restart.txt"), "back\n");
    await until(() => cat("/app/src/after-restart.txt"), (v) => v === "back\n");
  });

  it("stops following the rules when the stack is no longer watched", async () => {
    const r = s.daemon.cli(["-p", project, "up", "-d"], { cwd: s.work });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await until(() => s.daemon.log(), (l) => l.includes("develop.watch stopped"));
    writeFileSync(join(s.work, "src", "late.txt"), "late\n");
    // Nothing arrives to wait for: watching again (the positive control), a file written after late.txt
    // arrives, while late.txt, changed only while unwatched, still has not (only changed paths are synced).
    const readies = s.daemon.log().split("develop.watch ready").length - 1;
    const again = s.daemon.cli(["-p", project, "up", "-d", "--watch"], { cwd: s.work });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    await until(() => s.daemon.log().split("develop.watch ready").length - 1, (n) => n > readies);
    writeFileSync(join(s.work, "src", "control.txt"), "control\n");
    await until(() => cat("/app/src/control.txt"), (v) => v === "control\n");
    expect(cat("/app/src/late.txt")).toBeUndefined();
  });
});
