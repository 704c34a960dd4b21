import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StackError } from "./errors.js";
import { stackErrorOf } from "./testing.js";
import { loadStack } from "./load.js";
import type { ProjectOptions } from "./load.js";
import { checkEngineSupport } from "./support.js";

const root = mkdtempSync(join(tmpdir(), "tscompose-test-load-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** Writes a project directory from a map of relative path -> content. */
function project(files: Record<string, string>): string {
  const dir = join(root, `p${counter++}`, "myapp");
  mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return dir;
}

function load(dir: string, opts: Partial<ProjectOptions> = {}) {
  return loadStack({ files: [], envFiles: [], profiles: [], env: {}, cwd: dir, ...opts });
}

const loadError = (dir: string, opts: Partial<ProjectOptions> = {}): StackError => stackErrorOf(() => load(dir, opts));

describe("bad input names file, line, column and key", () => {
  const cases: { name: string; files: Record<string, string>; opts?: Partial<ProjectOptions>; err: RegExp; at?: string }[] = [
    {
      name: "unknown service key",
      files: { "compose.yaml": "services:\n  web:\n    image: busybox\n    imagee: x\n" },
      err: /services\.web: .*imagee/,
      at: "compose.yaml:4:5",
    },
    {
      name: "unknown top-level key",
      files: { "compose.yaml": "services: {}\nservice:\n  web: {}\n" },
      err: /service/,
      at: "compose.yaml:2:1",
    },
    {
      name: "wrong type",
      files: { "compose.yaml": "services:\n  web:\n    image: busybox\n    privileged: [1]\n" },
      err: /services\.web\.privileged/,
      at: "compose.yaml:4:5",
    },
    {
      name: "duplicate key",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    image: b\n" },
      err: /[Dd]uplicate|unique/,
      at: "compose.yaml:4:5",
    },
    {
      name: "bad duration",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    stop_grace_period: 10x\n" },
      err: /stop_grace_period.*10x/,
      at: "compose.yaml:4:5",
    },
    {
      name: "bad port",
      files: { "compose.yaml": 'services:\n  web:\n    image: a\n    ports:\n      - "8080:80"\n      - "99999:80"\n' },
      err: /services\.web\.ports\[1\].*99999/,
      at: "compose.yaml:6:9",
    },
    {
      name: "depends_on a missing service",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    depends_on: [db]\n" },
      err: /services\.web\.depends_on\.db: service "web" depends on undefined service "db"/,
      at: "compose.yaml:4:5",
    },
    {
      name: "depends_on cycle",
      files: {
        "compose.yaml": "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n",
      },
      err: /dependency cycle detected: a -> b -> c -> a/,
    },
    {
      name: "service depending on itself",
      files: { "compose.yaml": "services:\n  a:\n    image: x\n    depends_on:\n      a:\n        condition: service_started\n" },
      err: /depends on itself/,
      at: "compose.yaml:5:7",
    },
    {
      name: "required variable missing",
      files: { "compose.yaml": "services:\n  web:\n    image: ${IMAGE:?set IMAGE to the image to run}\n" },
      err: /required variable IMAGE is missing a value: set IMAGE to the image to run/,
      at: "compose.yaml:3:5",
    },
    {
      name: "bad restart policy",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    restart: sometimes\n" },
      err: /services\.web\.restart: invalid restart policy "sometimes"/,
      at: "compose.yaml:4:5",
    },
    {
      name: "undefined network",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    networks: [front]\n" },
      err: /undefined network "front"/,
      at: "compose.yaml:4:5",
    },
    {
      name: "undefined named volume",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    volumes: ['data:/data']\n" },
      err: /undefined volume "data"/,
    },
    {
      name: "missing required env_file",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    env_file: missing.env\n" },
      err: /env_file.*missing\.env/,
      at: "compose.yaml:4:5",
    },
    {
      name: "neither image nor build",
      files: { "compose.yaml": "services:\n  web:\n    command: echo\n" },
      err: /neither an image nor a build/,
      at: "compose.yaml:2:3",
    },
    {
      name: "profile-disabled dependency",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    depends_on: [db]\n  db:\n    image: b\n    profiles: [debug]\n" },
      err: /service "db" was pulled in as a dependency of service "web" but is not enabled/,
    },
    {
      name: "extends cycle",
      files: { "compose.yaml": "services:\n  a:\n    extends: b\n  b:\n    extends: a\n" },
      err: /a -> b -> a|b -> a -> b/,
    },
    {
      name: "include cycle",
      files: {
        "compose.yaml": "include: [other.yaml]\nservices:\n  a:\n    image: x\n",
        "other.yaml": "include: [compose.yaml]\nservices:\n  b:\n    image: x\n",
      },
      err: /include cycle/,
    },
    {
      name: "invalid project name with -p",
      files: { "compose.yaml": "services:\n  a:\n    image: x\n" },
      opts: { projectName: "My App" },
      err: /invalid project name "My App"/,
    },
    {
      name: "malformed yaml",
      files: { "compose.yaml": "services:\n  web:\n    image: [unclosed\n" },
      err: /./,
      at: "compose.yaml:",
    },
    {
      name: "security_opt: an option tscompose does not know",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    security_opt:\n      - no-new-privileges\n      - systempaths=unconfined\n" },
      err: /services\.web\.security_opt\[1\]: unsupported security option "systempaths=unconfined": tscompose supports no-new-privileges/,
      at: "compose.yaml:6:9",
    },
    {
      name: "security_opt: no-new-privileges with a value that is not a boolean",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    security_opt: ['no-new-privileges:yes']\n" },
      err: /services\.web\.security_opt\[0\]: invalid no-new-privileges value "yes": must be true or false/,
      at: "compose.yaml:4:",
    },
    {
      name: "security_opt: an AppArmor profile (none is ever applied)",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    security_opt: [apparmor=docker-default]\n" },
      err: /services\.web\.security_opt\[0\]: unsupported security option "apparmor=docker-default": tscompose applies no AppArmor profiles/,
    },
    {
      name: "security_opt: an SELinux label",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    security_opt: ['label=type:svirt_apache_t']\n" },
      err: /services\.web\.security_opt\[0\]: unsupported security option "label=type:svirt_apache_t"/,
    },
    {
      name: "security_opt: seccomp without a value",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    security_opt: ['seccomp=']\n" },
      err: /services\.web\.security_opt\[0\]: "seccomp=": seccomp needs "unconfined" or a profile file/,
    },
    {
      name: "security_opt: a seccomp profile that does not exist",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    security_opt:\n      - seccomp=./missing.json\n" },
      err: /services\.web\.security_opt\[0\]: cannot read seccomp profile \/.*\/myapp\/missing\.json: no such file/,
      at: "compose.yaml:5:9",
    },
    {
      name: "security_opt: a seccomp profile with a bad action names the rule",
      files: {
        "compose.yaml": "services:\n  web:\n    image: a\n    security_opt:\n      - seccomp=profiles/p.json\n",
        "profiles/p.json": JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }, { names: ["write"], action: "ALLOW" }] }),
      },
      err: /services\.web\.security_opt\[0\]: seccomp profile \/.*\/profiles\/p\.json: syscalls\[1\]\.action: unknown action "ALLOW"/,
      at: "compose.yaml:5:9",
    },
    {
      name: "security_opt: a seccomp profile that is not JSON",
      files: { "compose.yaml": "services:\n  web:\n    image: a\n    security_opt: ['seccomp:p.json']\n", "p.json": "{defaultAction: 1}" },
      err: /seccomp profile \/.*\/p\.json: not valid JSON/,
    },
    {
      name: "error in an override file points into that file",
      files: {
        "compose.yaml": "services:\n  web:\n    image: a\n",
        "compose.override.yaml": "services:\n  web:\n    ports:\n      - 'not-a-port'\n",
      },
      err: /services\.web\.ports\[0\]/,
      at: "compose.override.yaml:4:9",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const dir = project(c.files);
      const err = loadError(dir, c.opts);
      expect(err.message).toMatch(c.err);
      if (c.at) expect(err.message).toContain(join(dir, c.at));
    });
  }
});

describe("loading", () => {
  it("volumes, networks, secrets and configs with a name: keep it as written; without one they get the project's prefix", () => {
    const dir = project({
      "s.txt": "x",
      "compose.yaml": [
        "services:",
        "  web:",
        "    image: x",
        "    networks: [front, back]",
        "    volumes: [data:/data, cache:/cache]",
        "volumes:",
        "  data:",
        "    name: shared-data",
        "  cache: {}",
        "networks:",
        "  front:",
        "    name: edge",
        "  back: {}",
        "secrets:",
        "  token:",
        "    name: api-token",
        "    file: ./s.txt",
        "configs:",
        "  conf:",
        "    name: app-conf",
        "    file: ./s.txt",
        "",
      ].join("\n"),
    });
    const { stack } = load(dir);
    expect([stack.volumes.data?.name, stack.volumes.cache?.name]).toEqual(["shared-data", "myapp_cache"]);
    expect([stack.networks.front?.name, stack.networks.back?.name]).toEqual(["edge", "myapp_back"]);
    expect(stack.secrets.token?.name).toBe("api-token");
    expect(stack.configs.conf?.name).toBe("app-conf");
  });

  it("interpolates from .env, with the shell winning, and warns once for unset variables", () => {
    const dir = project({
      ".env": "TAG=1.0\nPORT=8080\n",
      "compose.yaml": "services:\n  web:\n    image: app:${TAG}\n    ports: ['${PORT}:80']\n    environment:\n      A: ${UNSET}\n      B: ${UNSET}\n",
    });
    const r = load(dir, { env: { PORT: "9090" } });
    const web = r.stack.services.web!;
    expect(web.image).toBe("app:1.0");
    expect(web.ports[0]).toMatchObject({ target: 80, published: "9090" });
    expect(web.environment).toEqual({ A: "", B: "" });
    expect(r.warnings.filter((w) => w.includes("UNSET"))).toHaveLength(1);
  });

  it("derives the project name: -p, COMPOSE_PROJECT_NAME, name:, then the directory", () => {
    const dir = project({ "compose.yaml": "services:\n  a:\n    image: x\n" });
    expect(load(dir).stack.name).toBe("myapp");
    expect(load(dir, { env: { COMPOSE_PROJECT_NAME: "fromenv" } }).stack.name).toBe("fromenv");
    expect(load(dir, { projectName: "flag", env: { COMPOSE_PROJECT_NAME: "fromenv" } }).stack.name).toBe("flag");
    const named = project({ "compose.yaml": "name: top\nservices:\n  a:\n    image: x\n" });
    expect(load(named).stack.name).toBe("top");
    const odd = join(root, "Odd Dir.v2");
    mkdirSync(odd, { recursive: true });
    writeFileSync(join(odd, "compose.yaml"), "services:\n  a:\n    image: x\n");
    expect(load(odd).stack.name).toBe("odddirv2");
  });

  it("merges -f files with override rules and resolves paths against the project directory", () => {
    const dir = project({
      "compose.yaml": "services:\n  web:\n    image: a\n    ports: ['80:80']\n    volumes: ['./data:/data']\n    environment: [A=1, B=2]\n",
      "override/prod.yaml": "services:\n  web:\n    image: b\n    ports: ['443:443']\n    volumes: ['./other:/data']\n    environment:\n      B: three\n",
    });
    const r = load(dir, { files: ["compose.yaml", "override/prod.yaml"] });
    const web = r.stack.services.web!;
    expect(web.image).toBe("b");
    expect(web.ports.map((p) => p.target).sort()).toEqual([443, 80]);
    expect(web.volumes).toHaveLength(1);
    expect(web.volumes[0]).toMatchObject({ type: "bind", source: join(dir, "other"), target: "/data" });
    expect(web.environment).toEqual({ A: "1", B: "three" });
  });


  it("expands ~ to the HOME of the caller's environment (the CLI's, not the loading process's), not to a .env HOME", () => {
    const dir = project({
      "compose.yaml": "services:\n  mc:\n    image: a\n    volumes: ['~/minecraft_data:/data', '~:/home']\n",
      ".env": "HOME=/from/dotenv\n",
    });
    const volumes = load(dir, { env: { HOME: "/home/alice" } }).stack.services.mc!.volumes;
    expect(volumes.map((v) => v.source)).toEqual(["/home/alice/minecraft_data", "/home/alice"]);
  });
  it("applies profiles from --profile and COMPOSE_PROFILES", () => {
    const dir = project({
      "compose.yaml": "services:\n  a:\n    image: x\n  b:\n    image: x\n    profiles: [debug]\n  c:\n    image: x\n    profiles: [mon]\n",
    });
    expect(Object.keys(load(dir).stack.services)).toEqual(["a"]);
    expect(Object.keys(load(dir, { profiles: ["debug"] }).stack.services).sort()).toEqual(["a", "b"]);
    expect(Object.keys(load(dir, { env: { COMPOSE_PROFILES: "debug,mon" } }).stack.services).sort()).toEqual(["a", "b", "c"]);
    expect(load(dir).allProfiles).toEqual(["debug", "mon"]);
  });

  it("extends a service of another file, rebasing its relative paths", () => {
    const dir = project({
      "common/base.yaml": "services:\n  base:\n    image: base\n    env_file: base.env\n    environment: [X=1]\n",
      "common/base.env": "FROM_BASE=yes\n",
      "compose.yaml": "services:\n  web:\n    extends:\n      file: common/base.yaml\n      service: base\n    environment: [Y=2]\n",
    });
    const web = load(dir).stack.services.web!;
    expect(web.image).toBe("base");
    expect(web.environment).toEqual({ FROM_BASE: "yes", X: "1", Y: "2" });
  });

  it("includes another project's file and rejects a conflicting service", () => {
    const dir = project({
      "db/compose.yaml": "services:\n  db:\n    image: postgres\n    volumes: ['./init:/init']\n",
      "compose.yaml": "include: [db/compose.yaml]\nservices:\n  web:\n    image: a\n    depends_on: [db]\n",
    });
    const r = load(dir);
    expect(Object.keys(r.stack.services).sort()).toEqual(["db", "web"]);
    expect(r.stack.services.db!.volumes[0]!.source).toBe(join(dir, "db", "init"));
    const clash = project({
      "db/compose.yaml": "services:\n  web:\n    image: postgres\n",
      "compose.yaml": "include: [db/compose.yaml]\nservices:\n  web:\n    image: a\n",
    });
    expect(loadError(clash).message).toMatch(/services\.web conflicts with imported resource/);
  });

  it("normalizes short and long forms to one form", () => {
    const dir = project({
      "compose.yaml": [
        "services:",
        "  web:",
        "    image: a",
        '    command: echo "hello world" $$HOME',
        "    ports: ['127.0.0.1:8000-8001:80-81/udp', {target: 90, published: '9090'}]",
        "    volumes: ['/srv:/srv:ro', 'data:/data', '/anon']",
        "    healthcheck: {test: 'curl -f localhost', interval: 1m30s}",
        "    deploy: {replicas: 3, resources: {limits: {memory: 512m, cpus: '0.5'}}}",
        "    restart: on-failure:3",
        "volumes:",
        "  data: {}",
      ].join("\n"),
    });
    const r = load(dir);
    const web = r.stack.services.web!;
    expect(web.command).toEqual(["echo", "hello world", "$HOME"]);
    expect(web.ports).toEqual([
      { target: 80, published: "8000", hostIp: "127.0.0.1", protocol: "udp", mode: "ingress", name: undefined },
      { target: 81, published: "8001", hostIp: "127.0.0.1", protocol: "udp", mode: "ingress", name: undefined },
      { target: 90, published: "9090", hostIp: undefined, protocol: "tcp", mode: "ingress", name: undefined },
    ]);
    expect(web.volumes.map((v) => [v.type, v.source, v.target, v.readOnly])).toEqual([
      ["bind", "/srv", "/srv", true],
      ["volume", "data", "/data", false],
      ["volume", undefined, "/anon", false],
    ]);
    expect(web.healthcheck).toMatchObject({ test: ["CMD-SHELL", "curl -f localhost"], intervalMs: 90_000, retries: 3 });
    expect(web.replicas).toBe(3);
    expect(web.memLimit).toBe(512 * 1024 * 1024);
    expect(web.cpus).toBe(0.5);
    expect(web.restart).toBe("on-failure");
    expect(web.restartMaxRetries).toBe(3);
    expect(r.stack.networks.default!.name).toBe("myapp_default");
    expect(r.stack.volumes.data!.name).toBe("myapp_data");
  });
});

describe("security_opt", () => {
  const profile = JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["keyctl"], action: "SCMP_ACT_ERRNO" }] });
  it("no-new-privileges, a seccomp profile relative to the project directory (its content kept), and the LSM no-ops", () => {
    const dir = project({
      "compose.yaml": "services:\n  web:\n    image: a\n    security_opt: ['no-new-privileges:true', 'seccomp=./sec/p.json', 'label:disable', 'apparmor=unconfined']\n",
      "sec/p.json": profile,
    });
    const web = load(dir).stack.services.web!;
    expect(web.noNewPrivileges).toBe(true);
    expect(web.seccompProfile).toBe(profile);
    expect(web.securityOpt).toEqual(["no-new-privileges:true", `seccomp=${join(dir, "sec/p.json")}`, "label:disable", "apparmor=unconfined"]);
  });
  const forms: [string, { noNewPrivileges: boolean; seccompProfile: string | undefined }][] = [
    ["[]", { noNewPrivileges: false, seccompProfile: undefined }],
    ["[no-new-privileges]", { noNewPrivileges: true, seccompProfile: undefined }],
    ["['no-new-privileges=true']", { noNewPrivileges: true, seccompProfile: undefined }],
    ["['no-new-privileges:false']", { noNewPrivileges: false, seccompProfile: undefined }],
    ["['seccomp=unconfined']", { noNewPrivileges: false, seccompProfile: "unconfined" }],
    ["['seccomp:unconfined']", { noNewPrivileges: false, seccompProfile: "unconfined" }],
    ["['seccomp=unconfined', 'seccomp=builtin']", { noNewPrivileges: false, seccompProfile: undefined }],
  ];
  for (const [yaml, want] of forms) {
    it(`security_opt: ${yaml}`, () => {
      const web = load(project({ "compose.yaml": `services:\n  web:\n    image: a\n    security_opt: ${yaml}\n` })).stack.services.web!;
      expect({ noNewPrivileges: web.noNewPrivileges, seccompProfile: web.seccompProfile }).toEqual(want);
    });
  }
  it("an override file's no-new-privileges:false wins over the base file's", () => {
    const dir = project({
      "compose.yaml": "services:\n  web:\n    image: a\n    security_opt: [no-new-privileges]\n",
      "compose.override.yaml": "services:\n  web:\n    security_opt: ['no-new-privileges:false']\n",
    });
    expect(load(dir).stack.services.web!.noNewPrivileges).toBe(false);
  });
  it("reaches the container spec", async () => {
    const { containerSpecFor } = await import("../../reconciler/container-spec.js");
    const dir = project({ "compose.yaml": "services:\n  web:\n    image: a\n    security_opt: [no-new-privileges, 'seccomp=p.json']\n", "p.json": profile });
    const { stack } = load(dir);
    const spec = containerSpecFor(stack, stack.services.web!, 1);
    expect(spec.noNewPrivileges).toBe(true);
    expect(spec.seccompProfile).toBe(profile);
  });
  it("is in the config hash, with the profile's content: editing the file recreates", () => {
    const dir = project({ "compose.yaml": "services:\n  web:\n    image: a\n", "p.json": profile });
    const hash = () => load(dir).stack.services.web!.configHash;
    const none = hash();
    writeFileSync(join(dir, "compose.yaml"), "services:\n  web:\n    image: a\n    security_opt: [no-new-privileges]\n");
    const nnp = hash();
    writeFileSync(join(dir, "compose.yaml"), "services:\n  web:\n    image: a\n    security_opt: [no-new-privileges, 'seccomp=p.json']\n");
    const withProfile = hash();
    writeFileSync(join(dir, "p.json"), profile.replace("keyctl", "add_key"));
    const edited = hash();
    expect(new Set([none, nnp, withProfile, edited]).size).toBe(4);
  });
  it("a profile file is watched (the daemon reloads when it changes)", () => {
    const dir = project({ "compose.yaml": "services:\n  web:\n    image: a\n    security_opt: ['seccomp=p.json']\n", "p.json": profile });
    expect(load(dir).watchedFiles).toContain(join(dir, "p.json"));
  });
});

describe("config hash", () => {
  const base = "services:\n  web:\n    image: a\n    env_file: app.env\n    environment: {A: '1', B: '2'}\n    configs: [cfg]\nconfigs:\n  cfg:\n    file: ./app.conf\n";
  // One directory for all variants: paths are part of the config, so only the edited file may differ.
  const dir = project({});
  const hashOf = (files: Record<string, string>): string => {
    for (const [rel, content] of Object.entries(files)) writeFileSync(join(dir, rel), content);
    return load(dir).stack.services.web!.configHash;
  };
  const files = { "compose.yaml": base, "app.env": "E=1\n", "app.conf": "x=1\n" };

  it("is stable across key order and ignores replicas and depends_on", () => {
    const h = hashOf(files);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hashOf({ ...files, "compose.yaml": base.replace("{A: '1', B: '2'}", "{B: '2', A: '1'}") })).toBe(h);
    expect(hashOf({ ...files, "compose.yaml": base.replace("    image: a\n", "    image: a\n    scale: 4\n") })).toBe(h);
  });

  it("changes with the image, the env_file's contents and a config file's contents", () => {
    const h = hashOf(files);
    expect(hashOf({ ...files, "compose.yaml": base.replace("image: a", "image: b") })).not.toBe(h);
    expect(hashOf({ ...files, "app.env": "E=2\n" })).not.toBe(h);
    expect(hashOf({ ...files, "app.conf": "x=2\n" })).not.toBe(h);
  });
});

describe("name resolution keys (dns, dns_opt, dns_search, links, external_links, mac_address, ports)", () => {
  const compose = `services:
  db:
    image: busybox
  web:
    image: busybox
    dns: 192.0.2.53
    dns_opt: [ndots:2, timeout:1, use-vc]
    dns_search: corp.test
    links: [db, "db:database"]
    external_links: ["legacy-db-1:legacy"]
    mac_address: "02:42:ac:11:00:99"
    ports:
      - { target: 80, published: "8080", name: web, app_protocol: http, mode: host }
      - "127.0.0.1::81"
      - "9000-9001:90-91/udp"
    networks:
      default:
      back:
        mac_address: "02:42:ac:11:00:aa"
networks:
  back: {}
`;

  it("loads them into one form, makes each linked service a dependency, and prints them as compose config does", async () => {
    const { stack } = load(project({ "compose.yaml": compose }));
    const web = stack.services.web!;
    expect(web.dns).toEqual(["192.0.2.53"]);
    expect(web.dnsOpt).toEqual(["ndots:2", "timeout:1", "use-vc"]);
    expect(web.dnsSearch).toEqual(["corp.test"]);
    expect(web.links).toEqual(["db", "db:database"]);
    expect(web.externalLinks).toEqual(["legacy-db-1:legacy"]);
    expect(web.dependsOn.db).toEqual({ condition: "service_started", restart: true, required: true });
    expect(web.networks.back?.macAddress).toBe("02:42:ac:11:00:aa");
    expect(web.ports.map((p) => [p.target, p.published, p.hostIp, p.protocol, p.mode, p.name, p.appProtocol])).toEqual([
      [80, "8080", undefined, "tcp", "host", "web", "http"],
      [81, undefined, "127.0.0.1", "tcp", "ingress", undefined, undefined],
      [90, "9000", undefined, "udp", "ingress", undefined, undefined],
      [91, "9001", undefined, "udp", "ingress", undefined, undefined],
    ]);
    const { renderService } = await import("./render.js");
    const out = renderService(web);
    expect(out).toMatchObject({
      dns: ["192.0.2.53"],
      dns_opt: ["ndots:2", "timeout:1", "use-vc"],
      dns_search: ["corp.test"],
      links: ["db", "db:database"],
      external_links: ["legacy-db-1:legacy"],
      mac_address: "02:42:ac:11:00:99",
      depends_on: { db: { condition: "service_started", required: true, restart: true } },
    });
    expect((out.networks as Record<string, unknown>).back).toEqual({ mac_address: "02:42:ac:11:00:aa" });
    expect((out.ports as unknown[])[0]).toEqual({ name: "web", mode: "host", target: 80, published: "8080", protocol: "tcp", app_protocol: "http" });
  });

  it("an explicit depends_on of a linked service wins over the link's", () => {
    const dir = project({ "compose.yaml": "services:\n  db:\n    image: x\n  web:\n    image: x\n    links: [db]\n    depends_on:\n      db: { condition: service_healthy }\n" });
    expect(load(dir).stack.services.web!.dependsOn.db).toMatchObject({ condition: "service_healthy", restart: false });
  });

  it("locates a link to an undefined service and a dns entry that is not an address", () => {
    const badLink = loadError(project({ "compose.yaml": "services:\n  web:\n    image: x\n    links:\n      - cache:c\n" }));
    expect(badLink.message).toMatch(/service "web" links to undefined service "cache"/);
    expect(badLink.location).toMatchObject({ line: 5 });
    const badDns = loadError(project({ "compose.yaml": "services:\n  web:\n    image: x\n    dns:\n      - 192.0.2.1\n      - dns.example\n" }));
    expect(badDns.message).toMatch(/invalid dns server "dns.example": must be an IP address/);
    expect(badDns.location).toMatchObject({ line: 6 });
  });
});

describe("keys that conflict with a shared network namespace", () => {
  it("are located errors in dockerd's words", () => {
    // The offending key is on line 7, after network_mode.
    const cases: [string, RegExp][] = [
      ["    network_mode: service:db\n    dns: [192.0.2.1]\n", /services\.web\.dns.*conflicting options: dns and the network mode/],
      ["    network_mode: service:db\n    links: [db]\n", /services\.web\.links.*container type network can't be used with links/],
      ["    network_mode: host\n    external_links: [x]\n", /services\.web\.external_links.*host type networking can't be used with links/],
      ["    network_mode: host\n    mac_address: 02:42:ac:11:00:02\n", /services\.web\.mac_address.*conflicting options: mac-address and the network mode/],
    ];
    for (const [lines, err] of cases) {
      const e = loadError(project({ "compose.yaml": `services:\n  db:\n    image: x\n  web:\n    image: x\n${lines}` }));
      expect(e.message).toMatch(err);
      expect(e.location?.line).toBe(7);
    }
  });
});

describe("networks (netipam): what the embedded engine cannot honour is located", () => {
  const svc = "services:\n  web:\n    image: a\n";
  // "up": config loads and prints it; up refuses it (src/stack/support.ts). "load": docker refuses it too, or it is malformed.
  const cases: { name: string; yaml: string; err: RegExp; at: string; when?: "up" }[] = [
    {
      name: "enable_ipv6 without an IPv6 subnet",
      yaml: `${svc}networks:\n  n:\n    enable_ipv6: true\n`,
      err: /networks\.n\.enable_ipv6: not supported by the embedded engine: enable_ipv6 needs an IPv6 subnet in ipam\.config/,
      at: "6:5",
      when: "up",
    },
    {
      name: "an IPv6 subnet without enable_ipv6",
      yaml: `${svc}networks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.5.0.0/24\n        - subnet: fd00::/64\n`,
      err: /networks\.n\.ipam\.config\[1\]\.subnet: not supported by the embedded engine: an IPv6 subnet needs enable_ipv6: true/,
      at: "9:11",
      when: "up",
    },
    {
      name: "an ipv6_address on a network without IPv6",
      yaml: `${svc}    networks:\n      n:\n        ipv6_address: fd00::5\nnetworks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.5.0.0/24\n`,
      err: /services\.web\.networks\.n\.ipv6_address: not supported by the embedded engine: the network has no IPv6: give it enable_ipv6: true/,
      at: "6:9",
      when: "up",
    },
    {
      name: "an ipv6_address on the default network, which has no IPv6",
      yaml: `${svc}    networks:\n      default:\n        ipv6_address: fd00::5\n`,
      err: /services\.web\.networks\.default\.ipv6_address: not supported by the embedded engine: the network has no IPv6/,
      at: "6:9",
      when: "up",
    },
    {
      name: "an IPv6-only network",
      yaml: `${svc}networks:\n  n:\n    enable_ipv4: false\n    enable_ipv6: true\n    ipam:\n      config:\n        - subnet: fd00::/64\n`,
      err: /networks\.n\.enable_ipv4: not supported by the embedded engine: IPv6-only networks are not implemented/,
      at: "6:5",
      when: "up",
    },
    {
      name: "an ip_range in an IPv6 entry",
      yaml: `${svc}networks:\n  n:\n    enable_ipv6: true\n    ipam:\n      config:\n        - subnet: fd00::/64\n          ip_range: fd00::/80\n`,
      err: /networks\.n\.ipam\.config\[0\]\.ip_range: not supported by the embedded engine: ip_range in an IPv6 ipam entry/,
      at: "10:11",
      when: "up",
    },
    {
      name: "a second IPv6 subnet",
      yaml: `${svc}networks:\n  n:\n    enable_ipv6: true\n    ipam:\n      config:\n        - subnet: fd00::/64\n        - subnet: fd01::/64\n`,
      err: /networks\.n\.ipam\.config\[1\]: not supported by the embedded engine: a bridge network has one subnet of each IP version/,
      at: "10:",
      when: "up",
    },
    {
      name: "an IPv6 subnet with host bits",
      yaml: `${svc}networks:\n  n:\n    enable_ipv6: true\n    ipam:\n      config:\n        - subnet: fd00::1/64\n`,
      err: /networks\.n\.ipam\.config\[0\]\.subnet: invalid subnet "fd00::1\/64": host bits are set/,
      at: "9:11",
    },
    {
      name: "an IPv6 gateway outside the subnet",
      yaml: `${svc}networks:\n  n:\n    enable_ipv6: true\n    ipam:\n      config:\n        - subnet: fd00::/64\n          gateway: fd01::1\n`,
      err: /networks\.n\.ipam\.config\[0\]\.gateway: gateway fd01::1 is not a host address of subnet fd00::\/64/,
      at: "10:11",
    },
    {
      name: "a second IPv4 subnet",
      yaml: `${svc}networks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.5.0.0/24\n        - subnet: 10.6.0.0/24\n`,
      err: /networks\.n\.ipam\.config\[1\]: not supported by the embedded engine: a bridge network has one subnet of each IP version/,
      at: "9:",
      when: "up",
    },
    { name: "an ipam driver", yaml: `${svc}networks:\n  n:\n    ipam:\n      driver: dhcp\n`, err: /networks\.n\.ipam\.driver: not supported by the embedded engine: only the default IPAM driver/, at: "7:7", when: "up" },
    {
      name: "ip_range outside the subnet",
      yaml: `${svc}networks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.5.0.0/24\n          ip_range: 10.5.1.0/28\n`,
      err: /networks\.n\.ipam\.config\[0\]\.ip_range: ip_range 10\.5\.1\.0\/28 is not inside subnet 10\.5\.0\.0\/24/,
      at: "9:11",
    },
    {
      name: "an aux address outside the subnet",
      yaml: `${svc}networks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.5.0.0/24\n          aux_addresses:\n            router: 10.5.0.2\n            printer: 10.9.0.3\n`,
      err: /networks\.n\.ipam\.config\[0\]\.aux_addresses\.printer: aux address printer=10\.9\.0\.3 is not a host address/,
      at: "11:13",
    },
    {
      name: "an unknown bridge option",
      yaml: `${svc}networks:\n  n:\n    driver_opts:\n      com.docker.network.driver.mtu: "1400"\n      com.docker.network.bridge.foo: "x"\n`,
      err: /networks\.n\.driver_opts\.com\.docker\.network\.bridge\.foo: not supported by the embedded engine: a bridge option the embedded engine does not know/,
      at: "8:7",
      when: "up",
    },
    { name: "a bad MTU", yaml: `${svc}networks:\n  n:\n    driver_opts:\n      com.docker.network.driver.mtu: "9x"\n`, err: /driver_opts\.com\.docker\.network\.driver\.mtu: "9x" is not an MTU/, at: "7:7" },
    {
      name: "a bridge name longer than an interface name",
      yaml: `${svc}networks:\n  n:\n    driver_opts:\n      com.docker.network.bridge.name: br-mine-is-too-long\n`,
      err: /driver_opts\.com\.docker\.network\.bridge\.name: "br-mine-is-too-long" is not a valid interface name \(1 to 15/,
      at: "7:7",
    },
    {
      name: "a bridge name with a slash",
      yaml: `${svc}networks:\n  n:\n    driver_opts:\n      com.docker.network.bridge.name: br/x\n`,
      err: /driver_opts\.com\.docker\.network\.bridge\.name: "br\/x" is not a valid interface name/,
      at: "7:7",
    },
    {
      name: "the IPv6 loopback as host_ip, short form",
      yaml: `${svc}    ports:\n      - "8080:80"\n      - "[::1]:8081:80"\n`,
      err: /services\.web\.ports\[1\]: not supported by the embedded engine: ports cannot be published on IPv6 loopback/,
      at: "6:9",
      when: "up",
    },
    { name: "a network name as network_mode", yaml: `${svc}    network_mode: mynet\n`, err: /services\.web\.network_mode: not supported by the embedded engine: the embedded engine knows none, host/, at: "4:5", when: "up" },
    {
      name: "the IPv6 loopback as host_ip, long form",
      yaml: `${svc}    ports:\n      - target: 80\n        host_ip: "::1"\n`,
      err: /services\.web\.ports\[0\]: not supported by the embedded engine: ports cannot be published on IPv6 loopback/,
      at: "5:9",
      when: "up",
    },
  ];
  for (const c of cases) {
    it(`${c.name} (${c.when === "up" ? "config prints it, up refuses it" : "a load error"})`, () => {
      const dir = project({ "compose.yaml": c.yaml });
      let err: Error | undefined;
      try {
        const { stack } = load(dir);
        if (c.when === "up") checkEngineSupport(stack);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).toMatch(c.err);
      expect(err?.message).toContain(join(dir, `compose.yaml:${c.at}`));
    });
  }

  it("a dual-stack network, ipv6_address and an IPv6 host_ip load and pass the engine's support check", () => {
    const yaml = [
      "services:",
      "  web:",
      "    image: a",
      "    ports: ['[fd00::1]:8080:80', {target: 81, host_ip: '::'}]",
      "    networks:",
      "      n: {ipv6_address: 'fd00::5'}",
      "networks:",
      "  n:",
      "    enable_ipv6: true",
      "    ipam:",
      "      config: [{subnet: 10.5.0.0/24}, {subnet: 'fd00::/64', gateway: 'fd00::1'}]",
      "",
    ].join("\n");
    const { stack } = load(project({ "compose.yaml": yaml }));
    expect(() => checkEngineSupport(stack)).not.toThrow();
    expect(stack.networks.n?.enableIpv6).toBe(true);
    expect(stack.services.web?.networks.n?.ipv6Address).toBe("fd00::5");
  });

  it("ipam with ip_range, gateway, aux_addresses and options, bridge options, gw_priority: loaded and printed in compose's form", async () => {
    const dir = project({
      "compose.yaml": [
        "services:",
        "  web:",
        "    image: a",
        "    networks:",
        "      n: {gw_priority: 5}",
        "networks:",
        "  n:",
        "    driver_opts: {com.docker.network.driver.mtu: 1400, com.docker.network.bridge.enable_icc: 'false'}",
        "    ipam:",
        "      options: {foo: bar}",
        "      config:",
        "        - {subnet: 10.5.0.0/24, ip_range: 10.5.0.128/25, gateway: 10.5.0.254, aux_addresses: {router: 10.5.0.129}}",
        "",
      ].join("\n"),
    });
    const { stack } = load(dir);
    const n = stack.networks.n!;
    expect(n.ipam).toEqual({ driver: undefined, options: { foo: "bar" }, config: [{ subnet: "10.5.0.0/24", ipRange: "10.5.0.128/25", gateway: "10.5.0.254", auxAddresses: { router: "10.5.0.129" } }] });
    expect(n.driverOpts).toEqual({ "com.docker.network.driver.mtu": "1400", "com.docker.network.bridge.enable_icc": "false" });
    expect(stack.services.web!.networks.n!.gwPriority).toBe(5);
    const { renderStack } = await import("./render.js");
    const out = renderStack(stack) as { networks: Record<string, unknown>; services: Record<string, { networks: unknown }> };
    expect(out.networks.n).toMatchObject({ ipam: { options: { foo: "bar" }, config: [{ subnet: "10.5.0.0/24", ip_range: "10.5.0.128/25", gateway: "10.5.0.254", aux_addresses: { router: "10.5.0.129" } }] } });
    expect(out.services.web!.networks).toEqual({ n: { gw_priority: 5 } });
  });

  it("network_mode: service:x makes x an implicit dependency, as compose-go infers it", () => {
    const dir = project({ "compose.yaml": "services:\n  x:\n    image: a\n  z:\n    image: a\n    network_mode: service:x\n  b:\n    image: a\n    network_mode: bridge\n" });
    const { stack } = load(dir);
    expect(stack.services.z!.dependsOn).toEqual({ x: { condition: "service_started", restart: false, required: true } });
    expect(stack.services.b!.networkMode).toBe("bridge");
    expect(stack.services.b!.dependsOn).toEqual({});
  });
});
