// Mounts and files as a container sees them (issue 16, volumes area): secrets
// and configs from a file, an environment variable and inline content, with
// their long syntax's target/uid/gid/mode; volume subpath, create_host_path,
// read_only, local driver_opts, tmpfs options, image volumes. Keys the embedded engine
// cannot honour stop `up` with a located error before anything is made.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/e2e.js";
import { projectCli, startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tvk${process.pid}`;

const { cli, sh } = projectCli(() => s, project);

beforeAll(async () => {
  s = await startStackSuite("volumes-keys", ["busybox", "multilayer"]);
  s.projects.push({ name: project, cwd: s.work });
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s, ["-v", "-t", "0"])).toEqual([]);
}, 180_000);

describe("secrets and configs", () => {
  it("puts file, environment and inline ones in the container with their target, owner and mode, read-only", async () => {
    writeFileSync(join(s.work, "token.txt"), "from-file\n", { mode: 0o640 });
    writeFileSync(
      join(s.work, "compose.yaml"),
      `
services:
  files:
    image: busybox
    command: sleep 3600
    secrets:
      - token
      - source: token
        target: owned
        uid: "1000"
        gid: "1001"
        mode: 0400
      - source: fromenv
        target: /etc/fromenv.txt
    configs:
      - source: inline
        target: app/inline.conf
      - source: inline
        target: /etc/inline-owned.conf
        uid: "7"
        mode: 0640
secrets:
  token:
    file: ./token.txt
  fromenv:
    environment: TVK_SECRET
configs:
  inline:
    content: |
      inline content
`,
    );
    await cli(["up", "-d"], { TVK_SECRET: "from-env" });
    const stat = (path: string) => sh("files", `stat -c '%u %g %a' ${path} && cat ${path}`);
    // A plain file secret is the host file itself (bind), as compose mounts it: its owner and mode are the host's.
    expect(await stat("/run/secrets/token")).toBe("0 0 640\nfrom-file\n");
    // uid/gid/mode: a copy with that owner and mode; a relative secret target is under /run/secrets.
    expect(await stat("/run/secrets/owned")).toBe("1000 1001 400\nfrom-file\n");
    // Environment and inline content: compose's defaults, root's and 0444.
    expect(await stat("/etc/fromenv.txt")).toBe("0 0 444\nfrom-env");
    // A relative config target is under /.
    expect(await stat("/app/inline.conf")).toBe("0 0 444\ninline content\n");
    expect(await stat("/etc/inline-owned.conf")).toBe("7 0 640\ninline content\n");
    // Read-only, even for root in the container; the positive control writes beside them.
    expect(await sh("files", "echo x >> /run/secrets/owned 2>/dev/null && echo wrote || echo refused; echo x > /tmp/w && echo wrote")).toBe("refused\nwrote\n");
    expect(await sh("files", "echo x >> /app/inline.conf 2>/dev/null && echo wrote || echo refused")).toBe("refused\n");

    // The variable's new value is a new container with the new file (the config hash sees the value).
    await cli(["up", "-d"], { TVK_SECRET: "rotated" });
    expect(await sh("files", "cat /etc/fromenv.txt")).toBe("rotated");
    await cli(["down", "-t", "0"]);
  }, 300_000);

  it("refuses a missing secret file, an unset variable and an external secret at the key, before creating anything", () => {
    const missing = join(s.work, "missing", "nothere.txt");
    const cases: [string, string, RegExp][] = [
      ["file", `file: ${missing}`, /compose\.yaml:10:\d+: .*secrets\.s\.file: .*nothere\.txt does not exist/],
      ["environment", "environment: TVK_UNSET_VARIABLE", /compose\.yaml:10:\d+: .*secrets\.s\.environment: environment variable "TVK_UNSET_VARIABLE" is not set/],
      ["external", "external: true", /compose\.yaml:10:\d+: .*secrets\.s\.external: not supported by the embedded engine: external secrets live in a swarm/],
    ];
    for (const [what, line, expected] of cases) {
      writeFileSync(
        join(s.work, "compose.yaml"),
        `services:
  bad:
    image: busybox
    command: sleep 3600
    secrets:
      - s
secrets:
  s:
    x-case: ${what}
    ${line}
`,
      );
      const r = runCli(s.daemon, ["-p", project, "up", "-d"], { cwd: s.work });
      expect(r.code, what).not.toBe(0);
      expect(r.stderr, what).toMatch(expected);
    }
    // Never a directory made in the missing file's place, and no container.
    expect(existsSync(join(s.work, "missing"))).toBe(false);
    expect(runCli(s.daemon, ["-p", project, "ps", "-aq"], { cwd: s.work }).stdout.trim()).toBe("");
  }, 120_000);
});

describe("volumes", () => {
  const mountsStack = (withSubpath: boolean, extra = ""): string => `
services:
  m:
    image: busybox
    command: sleep 3600
    tmpfs:
      - /short:size=1m,mode=1770,uid=5,gid=6
    volumes:
      - type: volume
        source: data
        target: /whole
        read_only: ${withSubpath}
${withSubpath ? "      - type: volume\n        source: data\n        target: /sub\n        volume: {subpath: app/dir}\n" : ""}      - type: volume
        source: hostdir
        target: /hostdir
      - type: volume
        source: mem
        target: /mem
      - type: tmpfs
        target: /long
        tmpfs: {size: 2m, mode: 0700}
      - type: bind
        source: ./robind
        target: /robind
        read_only: true
${extra}
volumes:
  data: {}
  hostdir:
    driver_opts: {type: none, o: bind, device: "${join(s.work, "device")}"}
  mem:
    driver_opts: {type: tmpfs, o: "size=3m,uid=7"}
`;
  const mountLine = async (target: string): Promise<string> => (await sh("m", `grep ' ${target} ' /proc/mounts`)).trim();

  it("mounts a volume's subpath, local bind and tmpfs volumes, tmpfs options and read_only as the container sees them", async () => {
    mkdirSync(join(s.work, "device"));
    mkdirSync(join(s.work, "robind"));
    writeFileSync(join(s.work, "device", "host.txt"), "on the host\n");
    writeFileSync(join(s.work, "compose.yaml"), mountsStack(false));
    await cli(["up", "-d"]);
    await sh("m", "mkdir -p /whole/app/dir && echo in-subpath > /whole/app/dir/f");

    // The same volume again, read-only, and its subpath: a recreate with both.
    writeFileSync(join(s.work, "compose.yaml"), mountsStack(true));
    await cli(["up", "-d"]);
    expect(await sh("m", "cat /sub/f; ls /sub")).toBe("in-subpath\nf\n");
    expect(await sh("m", "echo x > /whole/w 2>/dev/null && echo wrote || echo refused; echo y > /sub/g && cat /whole/app/dir/g")).toBe("refused\ny\n");

    // type none, o bind: the host directory itself, both ways.
    expect(await sh("m", "cat /hostdir/host.txt; echo from-container > /hostdir/back.txt")).toBe("on the host\n");
    expect(readFileSync(join(s.work, "device", "back.txt"), "utf8")).toBe("from-container\n");

    // type tmpfs: a tmpfs with the volume's options.
    expect(await mountLine("/mem")).toMatch(/^tmpfs \/mem tmpfs rw,.*size=3072k/);
    expect(await sh("m", "stat -c %u /mem")).toBe("7\n");

    // tmpfs long form and short options.
    expect(await mountLine("/long")).toMatch(/size=2048k/);
    expect(await sh("m", "stat -c %a /long")).toBe("700\n");
    expect(await mountLine("/short")).toMatch(/size=1024k/);
    expect(await sh("m", "stat -c '%a %u %g' /short")).toBe("1770 5 6\n");

    // read_only on a bind; the control writes to a writable tmpfs.
    expect(await sh("m", "touch /robind/x 2>/dev/null && echo wrote || echo refused; touch /long/x && echo wrote")).toBe("refused\nwrote\n");
  }, 300_000);

  it("refuses a missing subpath and a missing host path with create_host_path false when the container is made, without making the path", async () => {
    const missingHost = join(s.work, "not-created");
    const extra = `  nosub:
    image: busybox
    command: sleep 3600
    volumes:
      - {type: volume, source: data, target: /x, volume: {subpath: nothere}}
  nohost:
    image: busybox
    command: sleep 3600
    volumes:
      - {type: bind, source: "${missingHost}", target: /x, bind: {create_host_path: false}}
`;
    writeFileSync(join(s.work, "compose.yaml"), mountsStack(true, extra));
    const sub = runCli(s.daemon, ["-p", project, "up", "-d", "nosub"], { cwd: s.work });
    expect(sub.code).not.toBe(0);
    expect(sub.stderr).toMatch(/subpath "nothere" does not exist/);
    const host = runCli(s.daemon, ["-p", project, "up", "-d", "nohost"], { cwd: s.work });
    expect(host.code).not.toBe(0);
    expect(host.stderr).toContain(`bind source path does not exist: ${missingHost}`);
    expect(existsSync(missingHost)).toBe(false);
    // down -v with this file: its tmpfs volume is unmounted with it (a later file no longer names it).
    await cli(["down", "-v", "-t", "0"]);
  }, 300_000);

  it("mounts an image's files read-only (type: image), whole or a subpath, with its layers' whiteouts and opaque directories applied", async () => {
    writeFileSync(
      join(s.work, "image.yaml"),
      `
services:
  img:
    image: busybox
    command: sleep 3600
    volumes:
      - {type: image, source: tscompose/multilayer, target: /img}
      - {type: image, source: tscompose/multilayer, target: /opq, image: {subpath: data/opaque}}
      - {type: image, source: tscompose/multilayer, target: /dat, image: {subpath: data}}
`,
    );
    const f = ["-f", "image.yaml"];
    expect(await cli([...f, "config"])).toContain("subpath: data/opaque");
    // The image is pulled for its volume by up, as the service's image is.
    await cli([...f, "up", "-d"]);
    const imageSnapshots = () => readdirSync(join(s.daemon.stateDir, "snapshots", "containers")).filter((n) => n.includes(".image"));
    expect(imageSnapshots()).toHaveLength(3);
    // The whole image: its top layer's files, a whited-out file gone, a base-layer file there.
    expect(await sh("img", "cat /img/etc/motd /img/data/keep.txt; ls /img/bin/busybox")).toBe("layer 3\nkeep\n/img/bin/busybox\n");
    expect(await sh("img", "ls /img/data/remove-me.txt /img/bin/vi /img/data/subdir 2>/dev/null; echo rc=$?")).toBe("rc=1\n");
    // subpath: an opaque directory hides the lower layers' files; a whited-out directory stays hidden.
    expect(await sh("img", "ls /opq")).toBe("new.txt\n");
    expect(await sh("img", "ls /dat | sort | tr '\\n' ' '")).toBe("dir-to-file file-to-dir hard-dst.txt hard-src.txt keep.txt later.txt link opaque ");
    expect(await sh("img", "cat /dat/link /dat/file-to-dir/child.txt")).toBe("keep\nchild\n");
    // Read-only: writing fails there (EROFS), where the container's own filesystem takes a write.
    expect(await sh("img", "touch /img/new /opq/new.txt /dat/x 2>&1; touch /tmp/ok && echo wrote")).toMatch(/^(touch: \/(img\/new|opq\/new\.txt|dat\/x): Read-only file system\n){3}wrote\n$/);
    await cli([...f, "down", "-t", "0"]);
    // A subpath the image does not have fails when the container is made, naming it.
    writeFileSync(join(s.work, "image.yaml"), "services:\n  img:\n    image: busybox\n    volumes:\n      - {type: image, source: tscompose/multilayer, target: /x, image: {subpath: data/subdir}}\n");
    const missing = runCli(s.daemon, ["-p", project, ...f, "up", "-d"], { cwd: s.work });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('subpath "data/subdir" does not exist in the image');
    await cli([...f, "down", "-t", "0"]);
    // The snapshots that kept the image volumes' layers went with their containers (and with the failed create).
    expect(imageSnapshots()).toEqual([]);
  }, 300_000);

  it("refuses what the embedded engine cannot mount at the key: bad subpaths at load, nfs at up (config prints it)", () => {
    const cases: [string, string, RegExp][] = [
      ["subpath", "volumes:\n      - {type: volume, source: v, target: /v, volume: {subpath: ../up}}", /bad\.yaml:6:\d+: .*volume\.subpath: "\.\.\/up" must be a relative path inside the volume/],
    ];
    for (const [what, lines, expected] of cases) {
      writeFileSync(join(s.work, "bad.yaml"), `services:\n  bad:\n    image: busybox\n    x-case: ${what}\n    ${lines}\n${what === "subpath" ? "volumes:\n  v: {}\n" : ""}`);
      const r = runCli(s.daemon, ["-p", project, "-f", "bad.yaml", "config"], { cwd: s.work });
      expect(r.code, what).not.toBe(0);
      expect(r.stderr, what).toMatch(expected);
    }
    writeFileSync(join(s.work, "bad.yaml"), 'services:\n  bad:\n    image: busybox\n    volumes: [v:/v]\nvolumes:\n  v:\n    driver_opts: {type: nfs, o: addr=127.0.0.1, device: ":/export"}\n');
    const config = runCli(s.daemon, ["-p", project, "-f", "bad.yaml", "config"], { cwd: s.work });
    expect(config.code).toBe(0);
    expect(config.stdout).toContain("type: nfs");
    const up = runCli(s.daemon, ["-p", project, "-f", "bad.yaml", "up", "-d"], { cwd: s.work });
    expect(up.code).not.toBe(0);
    expect(up.stderr).toMatch(/bad\.yaml:7:\d+: .*volumes\.v\.driver_opts: not supported by the embedded engine: type "nfs" (needs mount\.nfs|mounts are not implemented)/);
    // Refused before anything was made.
    expect(runCli(s.daemon, ["volume", "ls", "-q"], { cwd: s.work }).stdout).not.toContain(`${project}_v`);
  }, 120_000);
});

describe("volumes_from", () => {
  it("gives a service the named, anonymous and bind mounts of another service's container and of a container by name, read-only with :ro", async () => {
    mkdirSync(join(s.work, "bindsrc"), { recursive: true });
    writeFileSync(
      join(s.work, "compose.yaml"),
      `
services:
  src:
    image: busybox
    command: sleep 3600
    volumes:
      - shared:/shared
      - /anon
      - ./bindsrc:/bound
  user:
    image: busybox
    command: sleep 3600
    volumes_from: [src]
  reader:
    image: busybox
    command: sleep 3600
    volumes_from: ["container:${project}-src-1:ro"]
volumes:
  shared: {}
`,
    );
    // container:NAME names a container that exists already (compose orders services, not containers).
    await cli(["up", "-d", "src"]);
    await cli(["up", "-d"]);
    await sh("src", "echo a > /shared/a && echo b > /anon/b && echo c > /bound/c");
    expect(await sh("user", "cat /shared/a /anon/b /bound/c && echo u > /anon/u && echo wrote")).toBe("a\nb\nc\nwrote\n");
    expect(await sh("src", "cat /anon/u")).toBe("u\n");
    expect(await sh("reader", "cat /shared/a /anon/b /bound/c")).toBe("a\nb\nc\n");
    expect(await sh("reader", "echo x > /anon/x 2>/dev/null && echo wrote || echo refused; echo x > /tmp/x && echo wrote")).toBe("refused\nwrote\n");
    await cli(["down", "-v", "-t", "0"]);
  }, 300_000);
});

