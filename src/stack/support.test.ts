import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StackError } from "./errors.js";
import { loadStack } from "./load.js";
import { renderStack } from "./render.js";
import { checkEngineSupport } from "./support.js";
import { stackErrorOf } from "./testing.js";

const root = mkdtempSync(join(tmpdir(), "tscompose-test-support-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function load(yaml: string, env: Record<string, string> = {}) {
  const dir = join(root, `p${counter++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "compose.yaml"), yaml);
  return { dir, ...loadStack({ files: [], envFiles: [], profiles: [], env, cwd: dir, projectName: "app" }) };
}

function refusal(yaml: string): StackError {
  const { stack } = load(yaml);
  return stackErrorOf(() => checkEngineSupport(stack));
}

describe("keys the embedded engine does not implement", () => {
  it("config prints them as written (compose's canonical forms for sizes and annotations)", () => {
    const { stack } = load(
      [
        "services:",
        "  web:",
        "    image: busybox",
        "    runtime: runc",
        "    group_add: [audio, 20]",
        "    annotations: [com.example.a=b]",
        "    mem_reservation: 64m",
        "    networks:",
        "      front:",
        "        gw_priority: 3",
        "networks:",
        "  front:",
        "    enable_ipv4: true",
        "models:",
        "  llm:",
        "    model: ai/smollm2",
        "",
      ].join("\n"),
    );
    const out = renderStack(stack) as { services: { web: Record<string, unknown> }; networks: Record<string, unknown>; models: unknown };
    expect(out.services.web.runtime).toBe("runc");
    expect(out.services.web.group_add).toEqual(["audio", "20"]);
    expect(out.services.web.annotations).toEqual({ "com.example.a": "b" });
    expect(out.services.web.mem_reservation).toBe(64 * 1024 * 1024);
    expect(out.services.web.networks).toEqual({ front: { gw_priority: 3 } });
    expect(out.networks.front).toMatchObject({ enable_ipv4: true });
    expect(out.models).toEqual({ llm: { model: "ai/smollm2" } });
  });

  it("values that ask for what the engine does anyway are not refused", () => {
    const { stack } = load("services:\n  web:\n    image: busybox\n    runtime: runc\n    attach: true\nnetworks:\n  n:\n    enable_ipv4: true\n");
    expect(() => checkEngineSupport(stack)).not.toThrow();
  });

  it("what docker ignores on a Linux host without SELinux is printed by config and not refused at up: consistency, bind.selinux", () => {
    const { dir, stack } = load(
      [
        "services:",
        "  web:",
        "    image: busybox",
        "    volumes:",
        "      - type: bind",
        "        source: .",
        "        target: /src",
        "        consistency: cached",
        "        bind: { selinux: z }",
        "      - ./:/other:delegated,Z",
        "",
      ].join("\n"),
    );
    expect(() => checkEngineSupport(stack)).not.toThrow();
    const out = renderStack(stack) as { services: { web: { volumes: Record<string, unknown>[] } } };
    expect(out.services.web.volumes[0]).toMatchObject({ source: dir, target: "/src", consistency: "cached", bind: { selinux: "z" } });
    expect(out.services.web.volumes[1]).toMatchObject({ target: "/other", bind: { selinux: "Z" } });
  });

  it("up is refused at the first such key, named with file:line:col and the reason", () => {
    const err = refusal(["services:", "  web:", "    image: busybox", "    labels: [a=b]", "    gpus: all", "    userns_mode: private", ""].join("\n"));
    expect(err.code).toBe("unsupported");
    expect(err.path).toBe("services.web.gpus");
    expect(err.location).toMatchObject({ line: 5, column: 5 });
    expect(err.message).toMatch(/compose\.yaml:5:5: services\.web\.gpus: not supported by the embedded engine: no GPU support \(and 1 more unsupported key\)$/);
  });

  it("nested keys and refused values are located too", () => {
    const volumeType = refusal(["services:", "  web:", "    image: busybox", "    volumes:", "      - type: npipe", "        source: p", "        target: /p", ""].join("\n"));
    expect(volumeType.path).toBe("services.web.volumes[0].type");
    expect(volumeType.message).toMatch(/:5:9: services\.web\.volumes\[0\]\.type: not supported by the embedded engine: named pipes are Windows only$/);
    const topLevel = refusal(["services:", "  web:", "    image: busybox", "networks:", "  n:", "    enable_ipv4: false", ""].join("\n"));
    expect(topLevel.path).toBe("networks.n.enable_ipv4");
    expect(topLevel.location?.line).toBe(6);
  });

  it("Swarm-only keys are printed and ignored, as docker compose ignores them", () => {
    const { stack } = load(["services:", "  web:", "    image: busybox", "    deploy:", "      placement:", "        constraints: [node.role==manager]", ""].join("\n"));
    expect(() => checkEngineSupport(stack)).not.toThrow();
    const out = renderStack(stack) as { services: { web: { deploy: unknown } } };
    expect(out.services.web.deploy).toEqual({ placement: { constraints: ["node.role==manager"] } });
  });

  it("build: every key the builder takes lands in the model; config prints them; up accepts them", () => {
    const { stack, dir } = load(
      [
        "services:",
        "  web:",
        "    build:",
        "      context: ./app",
        "      dockerfile: Dockerfile.dev",
        "      dockerfile_inline: FROM busybox",
        "      args: [GIVEN=1, FROMENV, ABSENT]",
        "      target: dev",
        "      tags: [x:1]",
        "      labels: [a=b]",
        "      no_cache: true",
        "      pull: 'true'",
        "      network: none",
        "      shm_size: 64m",
        "      extra_hosts: [h=1.2.3.4]",
        "      secrets: [token]",
        "      additional_contexts: {base: ./base, img: 'docker-image://busybox'}",
        "      cache_from: ['type=local,src=/tmp/c']",
        "  other:",
        "    build:",
        "      args: {GIVEN: 2, FROMENV: null}",
        "secrets:",
        "  token:",
        "    environment: TOKEN",
        "",
      ].join("\n"),
      { FROMENV: "env value", TOKEN: "t" },
    );
    expect(stack.services.web?.build).toEqual({
      context: join(dir, "app"),
      dockerfile: "Dockerfile.dev",
      dockerfileInline: "FROM busybox",
      args: { GIVEN: "1", FROMENV: "env value", ABSENT: undefined },
      target: "dev",
      tags: ["x:1"],
      labels: { a: "b" },
      noCache: true,
      pull: true,
      network: "none",
      shmSize: 64 << 20,
      extraHosts: ["h:1.2.3.4"],
      secrets: ["token"],
      additionalContexts: { base: join(dir, "base"), img: "docker-image://busybox" },
    });
    expect(stack.services.other?.build).toMatchObject({ context: dir, args: { GIVEN: "2", FROMENV: "env value" } });
    // Without an image, the image is <project>-<service> and it comes from a build.
    expect(stack.services.web?.pullPolicy).toBe("build");
    expect(() => checkEngineSupport(stack)).not.toThrow();
    const web = (renderStack(stack) as { services: { web: { build: Record<string, unknown> } } }).services.web.build;
    expect(web).toMatchObject({ args: { GIVEN: "1", FROMENV: "env value", ABSENT: null }, tags: ["x:1"], no_cache: true, cache_from: ["type=local,src=/tmp/c"], shm_size: 64 << 20 });
  });

  it("build keys the builder cannot honour are refused at up, located; cache_from and attestations are only printed", () => {
    const service = (lines: string[]): string => ["services:", "  web:", "    build:", ...lines.map((l) => `      ${l}`), ""].join("\n");
    const cases: [string[], string, RegExp][] = [
      [["context: https://github.com/docker/awesome-compose.git#master:flask"], "services.web.build.context", /remote build contexts \(git, http\) are not fetched/],
      [["ssh: [default]"], "services.web.build.ssh", /SSH agent forwarding/],
      [["platforms: [linux/s390x, linux/riscv64]"], "services.web.build.platforms", /only the host's platform \(linux\/\w+\) is built/],
      [["cache_to: [type=local,dest=/tmp/c]"], "services.web.build.cache_to", /exporting the build cache/],
      [["privileged: true"], "services.web.build.privileged", /privileged builds/],
      [["network: mynet"], "services.web.build.network", /default network, none or host/],
      [["ulimits: {nofile: 1024}"], "services.web.build.ulimits", /ulimits of build steps/],
      [["additional_contexts: {s: 'service:other'}"], "services.web.build.additional_contexts.s", /service: and URL contexts/],
    ];
    for (const [lines, path, message] of cases) {
      const err = refusal(service(lines));
      expect(err.path, lines[0]).toBe(path);
      expect(err.message, lines[0]).toMatch(message);
      expect(err.location?.line, lines[0]).toBe(4);
    }
    expect(refusal("services:\n  web:\n    build: https://example.com/app.git\n").path).toBe("services.web.build");
    // The positive controls: the host's platform, and hints compose lets a builder ignore.
    const { stack } = load(service([`platforms: [${process.arch === "arm64" ? "linux/arm64" : "linux/amd64"}]`, "cache_from: [x]", "provenance: true", "sbom: true", "isolation: default"]));
    expect(() => checkEngineSupport(stack)).not.toThrow();
  });

  it("the config hash follows the value, not where it is written", () => {
    const a = load("services:\n  web:\n    image: busybox\n    runtime: runc\n").stack.services.web?.configHash;
    const moved = load("services:\n  web:\n    runtime: runc\n    image: busybox\n").stack.services.web?.configHash;
    const changed = load("services:\n  web:\n    image: busybox\n    runtime: kata\n").stack.services.web?.configHash;
    const without = load("services:\n  web:\n    image: busybox\n").stack.services.web?.configHash;
    expect(moved).toBe(a);
    expect(changed).not.toBe(a);
    expect(without).not.toBe(a);
  });

  it("a volume the local driver cannot make (nfs, cifs, another driver, an unknown option) is printed by config and refused at up, located", () => {
    const cases: [string, string, RegExp][] = [
      ["driver_opts: {type: nfs, o: 'addr=127.0.0.1,rw', device: ':/export'}", "volumes.v.driver_opts", /type "nfs" (needs mount\.nfs|mounts are not implemented)/],
      ["driver_opts: {type: cifs, device: //srv/share}", "volumes.v.driver_opts", /type "cifs" (needs mount\.cifs|mounts are not implemented)/],
      ["driver_opts: {size: 10G}", "volumes.v.driver_opts", /unknown local driver option "size"/],
      ["driver: rexray/ebs", "volumes.v.driver", /only the "local" driver exists/],
    ];
    for (const [opts, path, reason] of cases) {
      const yaml = `services:\n  web:\n    image: busybox\n    volumes: [v:/v]\nvolumes:\n  v:\n    ${opts}\n`;
      const { stack } = load(yaml);
      const printed = renderStack(stack) as { volumes: { v: Record<string, unknown> } };
      expect(printed.volumes.v[path.split(".")[2] as string], opts).toBeDefined();
      const err = refusal(yaml);
      expect(err.path, opts).toBe(path);
      expect(err.location?.line, opts).toBe(7);
      expect(err.message, opts).toMatch(reason);
    }
    // What the local driver makes, and an external volume (up makes nothing of it), are fine.
    for (const opts of ["driver_opts: {type: tmpfs, o: size=1m}", "driver_opts: {type: none, o: bind, device: /srv}", "external: true\n    driver: rexray/ebs"]) {
      expect(() => checkEngineSupport(load(`services:\n  web:\n    image: busybox\n    volumes: [v:/v]\nvolumes:\n  v:\n    ${opts}\n`).stack), opts).not.toThrow();
    }
  });

  it("Windows-only CPU keys and reserved devices are printed by config and refused at up; generic resources are ignored (Swarm)", () => {
    const cases: [string, string, number, RegExp][] = [
      ["    cpu_count: 2\n", "services.web.cpu_count", 4, /Windows containers only \(use cpus or cpu_quota on Linux\)/],
      ["    cpu_percent: 50\n", "services.web.cpu_percent", 4, /Windows containers only/],
      ["    deploy:\n      resources:\n        reservations:\n          devices: [{capabilities: [gpu]}]\n", "services.web.deploy.resources.reservations.devices", 7, /device reservations \(GPUs\)/],
    ];
    for (const [body, path, line, reason] of cases) {
      const yaml = `services:\n  web:\n    image: busybox\n${body}`;
      expect(JSON.stringify(renderStack(load(yaml).stack)), path).toContain(path.split(".").pop() as string);
      const err = refusal(yaml);
      expect(err.path, path).toBe(path);
      expect(err.location?.line, path).toBe(line);
      expect(err.message, path).toMatch(reason);
    }
    const generic = "services:\n  web:\n    image: busybox\n    deploy:\n      resources:\n        reservations:\n          generic_resources: [{discrete_resource_spec: {kind: gpu, value: 1}}]\n";
    expect(() => checkEngineSupport(load(generic).stack)).not.toThrow();
  });
});
