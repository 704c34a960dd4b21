import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseDocument } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { MergeError } from "./errors.js";
import { resolveExtends } from "./extends.js";
import type { ExtendsSource } from "./extends.js";
import { mergeFiles, mergeService } from "./merge.js";
import { Override, RESET, applyMergeTags, customTags, extractMergeTags, resolveMergeTags } from "./merge-tags.js";

type Dict = Record<string, unknown>;

/** YAML text -> plain value, with the !reset / !override tags as the lead's parser will read them. */
function y(text: string): Dict {
  const doc = parseDocument(text, { customTags, merge: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) throw first;
  return (doc.toJS() ?? {}) as Dict;
}

interface Case {
  name: string;
  base: string;
  override: string;
  want: string;
}

// One service definition each: base, override, and the merged result.
const serviceCases: Case[] = [
  {
    name: "scalar overrides, other keys kept",
    base: "{image: 'nginx:1.25', restart: always}",
    override: "{image: 'nginx:1.27'}",
    want: "{image: 'nginx:1.27', restart: always}",
  },
  {
    name: "ports: a new port is appended",
    base: "{ports: ['8080:80']}",
    override: "{ports: ['8443:443']}",
    want: "{ports: ['8080:80', '8443:443']}",
  },
  {
    name: "ports: long form replaces the same short port in place",
    base: "{ports: ['8080:80', '9000:9000']}",
    override: "{ports: [{target: 80, published: '8080', protocol: tcp, mode: host}]}",
    want: "{ports: [{target: 80, published: '8080', protocol: tcp, mode: host}, '9000:9000']}",
  },
  {
    name: "ports: published as number equals published as string",
    base: "{ports: [{target: 80, published: 8080}]}",
    override: "{ports: ['8080:80/TCP']}",
    want: "{ports: ['8080:80/TCP']}",
  },
  {
    name: "ports: another host ip or protocol is another port",
    base: "{ports: ['127.0.0.1:8080:80', '53:53']}",
    override: "{ports: ['8080:80', '53:53/udp']}",
    want: "{ports: ['127.0.0.1:8080:80', '53:53', '8080:80', '53:53/udp']}",
  },
  {
    name: "ports: bracketed IPv6 host equals host_ip",
    base: "{ports: ['[::1]:8080:80']}",
    override: "{ports: [{host_ip: '::1', published: 8080, target: 80}]}",
    want: "{ports: [{host_ip: '::1', published: 8080, target: 80}]}",
  },
  {
    name: "volumes: same target replaced in place, others kept",
    base: "{volumes: ['./data:/var/lib/data', 'logs:/var/log']}",
    override: "{volumes: ['/srv/data:/var/lib/data:ro', 'cache:/cache']}",
    want: "{volumes: ['/srv/data:/var/lib/data:ro', 'logs:/var/log', 'cache:/cache']}",
  },
  {
    name: "volumes: long form with trailing slash replaces short form",
    base: "{volumes: ['db:/var/lib/postgresql/data']}",
    override: "{volumes: [{type: volume, source: db2, target: /var/lib/postgresql/data/}]}",
    want: "{volumes: [{type: volume, source: db2, target: /var/lib/postgresql/data/}]}",
  },
  {
    name: "volumes: anonymous volume target and Windows source",
    base: "{volumes: ['/scratch', 'C:\\data:/data']}",
    override: "{volumes: ['tmp:/scratch', 'D:\\data:/data:ro']}",
    want: "{volumes: ['tmp:/scratch', 'D:\\data:/data:ro']}",
  },
  {
    name: "environment: list merged with mapping",
    base: "{environment: ['A=1', 'B=2']}",
    override: "{environment: {B: 3, C: null}}",
    want: "{environment: {A: '1', B: 3, C: null}}",
  },
  {
    name: "environment: mapping merged with list, bare name is null",
    base: "{environment: {A: '1', KEEP: x}}",
    override: "{environment: ['A=2', 'EMPTY=', 'FROM_SHELL']}",
    want: "{environment: {A: '2', KEEP: x, EMPTY: '', FROM_SHELL: null}}",
  },
  {
    name: "labels, annotations, sysctls: list or mapping, later key wins",
    base: "{labels: ['com.example.tier=web'], annotations: {a: '1'}, sysctls: ['net.core.somaxconn=1024']}",
    override: "{labels: {com.example.tier: api, team: core}, annotations: ['a=2'], sysctls: {net.core.somaxconn: 4096}}",
    want: "{labels: {com.example.tier: api, team: core}, annotations: {a: '2'}, sysctls: {net.core.somaxconn: 4096}}",
  },
  {
    name: "extra_hosts: union of entries, a host may have two addresses",
    base: "{extra_hosts: {db: 10.0.0.2}}",
    override: "{extra_hosts: ['db:10.0.0.2', 'cache=10.0.0.3', 'db=10.0.0.9']}",
    want: "{extra_hosts: ['db=10.0.0.2', 'cache=10.0.0.3', 'db=10.0.0.9']}",
  },
  {
    name: "ulimits: an entry is replaced whole, other entries kept",
    base: "{ulimits: {nofile: {soft: 20000, hard: 40000}, nproc: 65535}}",
    override: "{ulimits: {nofile: {soft: 10000}}}",
    want: "{ulimits: {nofile: {soft: 10000}, nproc: 65535}}",
  },
  {
    name: "depends_on: list then mapping, short form means service_started",
    base: "{depends_on: [db, cache]}",
    override: "{depends_on: {db: {condition: service_healthy}}}",
    want: "{depends_on: {db: {condition: service_healthy, required: true}, cache: {condition: service_started, required: true}}}",
  },
  {
    name: "depends_on: mapping then list resets the condition (compose-go)",
    base: "{depends_on: {db: {condition: service_healthy, restart: true}}}",
    override: "{depends_on: [db, queue]}",
    want: "{depends_on: {db: {condition: service_started, restart: true, required: true}, queue: {condition: service_started, required: true}}}",
  },
  {
    name: "networks: list then mapping with aliases; aliases unioned",
    base: "{networks: {front: {aliases: [web, www]}, back: null}}",
    override: "{networks: {front: {aliases: [www, site]}, admin: null}}",
    want: "{networks: {front: {aliases: [web, www, site]}, back: null, admin: null}}",
  },
  {
    name: "networks: a bare name in the override keeps the base's options",
    base: "{networks: {front: {ipv4_address: 172.16.0.10}}}",
    override: "{networks: [front, back]}",
    want: "{networks: {front: {ipv4_address: 172.16.0.10}, back: null}}",
  },
  {
    name: "dns, dns_search: string or list, unique values appended",
    base: "{dns: 8.8.8.8, dns_search: [example.com]}",
    override: "{dns: [1.1.1.1, 8.8.8.8], dns_search: example.org}",
    want: "{dns: [8.8.8.8, 1.1.1.1], dns_search: [example.com, example.org]}",
  },
  {
    name: "env_file: unique by path, later entry wins",
    base: "{env_file: common.env}",
    override: "{env_file: [{path: common.env, required: false}, local.env]}",
    want: "{env_file: [{path: common.env, required: false}, local.env]}",
  },
  {
    name: "tmpfs: unique by mount path",
    base: "{tmpfs: /run}",
    override: "{tmpfs: ['/run:size=64m', /tmp]}",
    want: "{tmpfs: ['/run:size=64m', /tmp]}",
  },
  {
    name: "command and entrypoint: replaced, not appended",
    base: "{command: [npm, start], entrypoint: [/docker-entrypoint.sh]}",
    override: "{command: node server.js, entrypoint: [tini, --]}",
    want: "{command: node server.js, entrypoint: [tini, --]}",
  },
  {
    name: "healthcheck: test replaced, other fields merged",
    base: "{healthcheck: {test: [CMD, curl, -f, 'http://localhost/'], interval: 10s}}",
    override: "{healthcheck: {test: [CMD-SHELL, exit 0], retries: 5}}",
    want: "{healthcheck: {test: [CMD-SHELL, exit 0], interval: 10s, retries: 5}}",
  },
  {
    name: "logging: same driver merges options",
    base: "{logging: {driver: json-file, options: {max-size: 10m}}}",
    override: "{logging: {driver: json-file, options: {max-file: '3'}}}",
    want: "{logging: {driver: json-file, options: {max-size: 10m, max-file: '3'}}}",
  },
  {
    name: "logging: another driver drops the old options",
    base: "{logging: {driver: json-file, options: {max-size: 10m}}}",
    override: "{logging: {driver: syslog, options: {syslog-address: 'udp://127.0.0.1:514'}}}",
    want: "{logging: {driver: syslog, options: {syslog-address: 'udp://127.0.0.1:514'}}}",
  },
  {
    name: "logging: no driver on one side merges options",
    base: "{logging: {driver: local, options: {max-size: 10m}}}",
    override: "{logging: {options: {max-file: '3'}}}",
    want: "{logging: {driver: local, options: {max-size: 10m, max-file: '3'}}}",
  },
  {
    name: "build: a string base is the context",
    base: "{build: ./app}",
    override: "{build: {dockerfile: Dockerfile.dev, args: ['DEBUG=1']}}",
    want: "{build: {context: ./app, dockerfile: Dockerfile.dev, args: ['DEBUG=1']}}",
  },
  {
    name: "build: args and labels, list merged with mapping",
    base: "{build: {context: ., args: {VERSION: '1', DEBUG: '0'}, labels: [a=1]}}",
    override: "{build: {args: ['DEBUG=1', 'TOKEN'], labels: {b: '2'}}}",
    want: "{build: {context: ., args: {VERSION: '1', DEBUG: '1', TOKEN: null}, labels: {a: '1', b: '2'}}}",
  },
  {
    name: "build: a string override changes only the context",
    base: "{build: {context: ., args: {V: '1'}, tags: ['app:dev']}}",
    override: "{build: ./other}",
    want: "{build: {context: ./other, args: {V: '1'}, tags: ['app:dev']}}",
  },
  {
    name: "cap_add, cap_drop, profiles: unique values",
    base: "{cap_add: [NET_ADMIN], cap_drop: [ALL], profiles: [debug]}",
    override: "{cap_add: [NET_ADMIN, SYS_TIME], cap_drop: [ALL], profiles: [debug, tools]}",
    want: "{cap_add: [NET_ADMIN, SYS_TIME], cap_drop: [ALL], profiles: [debug, tools]}",
  },
  {
    name: "other sequences are appended",
    base: "{security_opt: ['no-new-privileges:true'], group_add: [audio]}",
    override: "{security_opt: ['label:disable'], group_add: [audio]}",
    want: "{security_opt: ['no-new-privileges:true', 'label:disable'], group_add: [audio, audio]}",
  },
  {
    name: "secrets: unique by target, /run/secrets/<source> by default",
    base: "{secrets: [db_password, api_key]}",
    override: "{secrets: [{source: db_password_prod, target: db_password}, {source: tls, target: /etc/tls.pem}]}",
    want: "{secrets: [{source: db_password_prod, target: db_password}, api_key, {source: tls, target: /etc/tls.pem}]}",
  },
  {
    name: "configs: unique by target, /<source> by default",
    base: "{configs: [nginx_conf, {source: site, target: /etc/nginx/conf.d/site.conf}]}",
    override: "{configs: [{source: nginx_conf_v2, target: /nginx_conf}, {source: site2, target: /etc/nginx/conf.d/site.conf}]}",
    want: "{configs: [{source: nginx_conf_v2, target: /nginx_conf}, {source: site2, target: /etc/nginx/conf.d/site.conf}]}",
  },
  {
    name: "expose: number, string and /tcp are one port",
    base: "{expose: [80, '443']}",
    override: "{expose: ['80/tcp', 8080, '443/udp']}",
    want: "{expose: ['80/tcp', '443', 8080, '443/udp']}",
  },
  {
    name: "devices: unique by container path",
    base: "{devices: ['/dev/sda:/dev/xvda:rwm', /dev/fuse]}",
    override: "{devices: ['/dev/sdb:/dev/xvda']}",
    want: "{devices: ['/dev/sdb:/dev/xvda', /dev/fuse]}",
  },
  {
    name: "an empty override value keeps the base",
    base: "{environment: {A: '1'}, networks: [front], image: app}",
    override: "{environment: null, networks: null, image: null}",
    want: "{environment: {A: '1'}, networks: [front], image: app}",
  },
  {
    name: "gpus: 'all' replaces a device list",
    base: "{gpus: [{driver: nvidia, count: 1}]}",
    override: "{gpus: all}",
    want: "{gpus: all}",
  },
  {
    name: "extensions may change shape",
    base: "{x-meta: [a, b]}",
    override: "{x-meta: {owner: ops}}",
    want: "{x-meta: {owner: ops}}",
  },
  {
    name: "!reset removes an attribute",
    base: "{image: app, ports: ['8080:80'], environment: {A: '1'}}",
    override: "{ports: !reset [], environment: !reset {}}",
    want: "{image: app}",
  },
  {
    name: "!reset on one environment key, base in list form",
    base: "{environment: ['A=1', 'B=2']}",
    override: "{environment: {A: !reset null, C: '3'}}",
    want: "{environment: {B: '2', C: '3'}}",
  },
  {
    name: "!override replaces a sequence instead of appending",
    base: "{ports: ['8080:80', '8443:443'], volumes: ['a:/a']}",
    override: "{ports: !override ['9090:80'], volumes: ['b:/b']}",
    want: "{ports: ['9090:80'], volumes: ['a:/a', 'b:/b']}",
  },
  {
    name: "!override replaces a mapping instead of merging",
    base: "{deploy: {resources: {limits: {cpus: '2', memory: 1g}}}}",
    override: "{deploy: !override {replicas: 2}}",
    want: "{deploy: {replicas: 2}}",
  },
];

describe("mergeService", () => {
  it.each(serviceCases)("$name", ({ base, override, want }) => {
    expect(mergeService(y(base), y(override), "web")).toEqual(y(want));
  });

  it("does not modify its inputs", () => {
    const base = y("{ports: ['8080:80'], environment: {A: '1'}, build: {context: ., args: {X: '1'}}}");
    const override = y("{ports: ['9090:90'], environment: ['B=2'], build: {args: {Y: '2'}}}");
    const before = [structuredClone(base), structuredClone(override)];
    mergeService(base, override);
    expect([base, override]).toEqual(before);
  });

  it("keeps the position of the first entry when a later one replaces it", () => {
    const got = mergeService(y("{environment: {A: '1', B: '2', C: '3'}}"), y("{environment: ['A=9']}"));
    expect(Object.keys(got.environment as Dict)).toEqual(["A", "B", "C"]);
  });

  it("reports a mapping overridden by a scalar, naming the key path", () => {
    const err = catchError(() => mergeService(y("{deploy: {replicas: 2}}"), y("{deploy: fast}"), "web"));
    expect(err).toBeInstanceOf(MergeError);
    expect((err as MergeError).code).toBe("invalid");
    expect((err as MergeError).path).toEqual(["services", "web", "deploy"]);
    expect(err.message).toBe('cannot merge services.web.deploy: the string "fast" cannot override a mapping');
  });

  it("takes a service of the override as is when the base has none", () => {
    expect(mergeService(undefined, y("{image: app, ports: !override ['80:80']}"))).toEqual({ image: "app", ports: ["80:80"] });
  });
});

const fileCases: Case[] = [
  {
    name: "override file changes an image, adds a port and a service",
    base: `
name: shop
services:
  web: {image: 'shop/web:1.0', ports: ['8080:80'], depends_on: [db]}
  db: {image: 'postgres:16', volumes: ['pgdata:/var/lib/postgresql/data']}
volumes: {pgdata: {}}
`,
    override: `
services:
  web: {image: 'shop/web:dev', ports: ['9229:9229'], depends_on: {db: {condition: service_healthy}}}
  db: {volumes: ['./seed:/var/lib/postgresql/data']}
  adminer: {image: adminer}
`,
    want: `
name: shop
services:
  web:
    image: 'shop/web:dev'
    ports: ['8080:80', '9229:9229']
    depends_on: {db: {condition: service_healthy, required: true}}
  db: {image: 'postgres:16', volumes: ['./seed:/var/lib/postgresql/data']}
  adminer: {image: adminer}
volumes: {pgdata: {}}
`,
  },
  {
    name: "name is overridden, x-* mappings merged",
    base: "{name: one, x-common: {restart: always, labels: [a]}}",
    override: "{name: two, x-common: {restart: 'no', labels: [b]}}",
    want: "{name: two, x-common: {restart: 'no', labels: [a, b]}}",
  },
  {
    name: "networks, volumes, secrets, configs merged per key",
    base: `
networks: {front: {driver: bridge, driver_opts: {com.docker.network.bridge.name: br-front}, labels: [tier=front]}, back: null}
volumes: {data: {driver: local}}
secrets: {token: {file: ./token.txt}}
configs: {app: {file: ./app.conf}}
`,
    override: `
networks: {front: {driver_opts: {com.docker.network.driver.mtu: '1400'}, labels: {owner: ops}}, back: {internal: true}}
volumes: {data: {labels: {backup: daily}}, logs: {}}
secrets: {token: {file: ./token.prod.txt}}
configs: {extra: {content: hello}}
`,
    want: `
networks:
  front:
    driver: bridge
    driver_opts: {com.docker.network.bridge.name: br-front, com.docker.network.driver.mtu: '1400'}
    labels: {tier: front, owner: ops}
  back: {internal: true}
volumes: {data: {driver: local, labels: {backup: daily}}, logs: {}}
secrets: {token: {file: ./token.prod.txt}}
configs: {app: {file: ./app.conf}, extra: {content: hello}}
`,
  },
  {
    name: "ipam pools keyed by subnet",
    base: "{networks: {n: {ipam: {config: [{subnet: 172.28.0.0/16, gateway: 172.28.0.1}]}}}}",
    override: "{networks: {n: {ipam: {config: [{subnet: 172.28.0.0/16, ip_range: 172.28.5.0/24}, {subnet: 10.9.0.0/16}]}}}}",
    want: "{networks: {n: {ipam: {config: [{subnet: 172.28.0.0/16, gateway: 172.28.0.1, ip_range: 172.28.5.0/24}, {subnet: 10.9.0.0/16}]}}}}",
  },
  {
    name: "!reset removes a whole service and a network",
    base: "{services: {web: {image: web}, debug: {image: busybox}}, networks: {test: {external: true}}}",
    override: "{services: {debug: !reset null}, networks: {test: !reset {}}}",
    want: "{services: {web: {image: web}}, networks: {}}",
  },
  {
    name: "!override replaces a network definition",
    base: "{networks: {test: {name: test, external: true}}}",
    override: "{networks: {test: !override {driver: bridge}}}",
    want: "{networks: {test: {driver: bridge}}}",
  },
  {
    name: "tags inside a new service are resolved",
    base: "{services: {web: {image: web}}}",
    override: "{services: {worker: {image: w, environment: {A: !reset x, B: '1'}, ports: !override ['1:1']}}}",
    want: "{services: {web: {image: web}, worker: {image: w, environment: {B: '1'}, ports: ['1:1']}}}",
  },
];

describe("mergeFiles", () => {
  it.each(fileCases)("$name", ({ base, override, want }) => {
    expect(mergeFiles(y(base), y(override))).toEqual(y(want));
  });

  it("merges three files in order", () => {
    const a = y("{services: {web: {image: a, environment: [X=1]}}}");
    const b = y("{services: {web: {image: b, environment: {Y: '2'}}}}");
    const c = y("{services: {web: {environment: !override {Z: '3'}}}}");
    expect(mergeFiles(mergeFiles(a, b), c)).toEqual({ services: { web: { image: "b", environment: { Z: "3" } } } });
  });

  it("drops tags left in the base", () => {
    const base = y("{services: {web: {image: a, ports: !override ['1:1'], command: !reset x}}}");
    expect(mergeFiles(base, {})).toEqual({ services: { web: { image: "a", ports: ["1:1"] } } });
  });
});

describe("customTags and tag helpers", () => {
  it("parses !reset and !override on scalars and collections", () => {
    const v = y(`
a: !reset
b: !reset []
c: !reset {}
d: !override [x, y]
e: !override {k: v}
f: !override text
`);
    expect(v.a).toBe(RESET);
    expect(v.b).toBe(RESET);
    expect(v.c).toBe(RESET);
    expect(v.d).toEqual(new Override(["x", "y"]));
    expect(v.e).toEqual(new Override({ k: "v" }));
    expect(v.f).toEqual(new Override("text"));
  });

  it("resolveMergeTags reads a file as if nothing came before it", () => {
    expect(resolveMergeTags(y("{a: !reset [], b: !override [1], c: {d: !reset x, e: 2}}"))).toEqual({ b: [1], c: { e: 2 } });
  });

  it("extractMergeTags gives a plain value and the tagged paths; applyMergeTags puts them back", () => {
    const raw = y("{services: {web: {ports: !override ['80:80'], environment: {A: !reset null, B: '1'}, dns: !reset []}}}");
    const { value, tags } = extractMergeTags(raw);
    expect(value).toEqual({ services: { web: { ports: ["80:80"], environment: { B: "1" } } } });
    expect(tags).toEqual([
      { kind: "override", path: ["services", "web", "ports"] },
      { kind: "reset", path: ["services", "web", "environment", "A"] },
      { kind: "reset", path: ["services", "web", "dns"] },
    ]);
    const base = y("{services: {web: {ports: ['8080:80'], environment: {A: '0', C: '2'}, dns: [8.8.8.8]}}}");
    expect(mergeFiles(base, applyMergeTags(value, tags) as Dict)).toEqual({
      services: { web: { ports: ["80:80"], environment: { C: "2", B: "1" } } },
    });
  });
});

describe("resolveExtends in one file", () => {
  const noOther = (file: string): ExtendsSource => {
    throw new Error(`unexpected load of ${file}`);
  };

  it("merges the base service under the extending one and drops extends", () => {
    const services = y(`
base:
  image: 'app:1'
  environment: [LOG=info, MODE=prod]
  depends_on: [db]
  volumes_from: [data]
  ports: ['8080:80']
web:
  extends: base
  environment: {MODE: dev}
  ports: [{target: 80, published: 8080, mode: host}]
db: {image: postgres}
`);
    const got = resolveExtends(services, noOther);
    expect(got.web).toEqual({
      image: "app:1",
      environment: { LOG: "info", MODE: "dev" },
      // compose v2 inherits depends_on and volumes_from
      depends_on: ["db"],
      volumes_from: ["data"],
      ports: [{ target: 80, published: 8080, mode: "host" }],
    });
    expect(got.base).toBe(services.base);
    expect(services.web).toHaveProperty("extends", "base");
  });

  it("follows a chain of extends, long form included", () => {
    const got = resolveExtends(
      y(`
a: {image: a, labels: {level: a}, cap_add: [NET_ADMIN]}
b: {extends: {service: a}, labels: {level: b}}
c: {extends: b, cap_add: [SYS_TIME]}
`),
      noOther,
    );
    expect(got.c).toEqual({ image: "a", labels: { level: "b" }, cap_add: ["NET_ADMIN", "SYS_TIME"] });
  });

  it("detects a cycle and names the chain", () => {
    const err = catchError(() => resolveExtends(y("{a: {extends: b}, b: {extends: c}, c: {extends: a}}"), noOther));
    expect(err).toBeInstanceOf(MergeError);
    expect((err as MergeError).code).toBe("cycle");
    expect(err.message).toBe('service "a": extends cycle a -> b -> c -> a');
    expect((err as MergeError).path).toEqual(["services", "a", "extends"]);
  });

  it("detects a service extending itself", () => {
    expect(() => resolveExtends(y("{a: {image: x, extends: a}}"), noOther)).toThrow('service "a": extends cycle a -> a');
  });

  it("reports an unknown base service", () => {
    const err = catchError(() => resolveExtends(y("{web: {extends: nope}}"), noOther));
    expect((err as MergeError).code).toBe("reference");
    expect(err.message).toBe('service "web" extends "nope", which is not defined');
  });

  it("keeps the extending service's !override so the file merge honours it too", () => {
    const file2 = resolveExtends(
      y(`
service_a: {image: a, depends_on: [service_c]}
service_b: {extends: service_a, depends_on: !override [service_a]}
`),
      noOther,
    );
    expect(resolveMergeTags(file2.service_b)).toEqual({ image: "a", depends_on: ["service_a"] });
    const merged = mergeFiles(y("{services: {service_b: {depends_on: [service_x]}}}"), { services: file2 });
    expect((merged.services as Dict).service_b).toEqual({ image: "a", depends_on: ["service_a"] });
  });

  it("applies the extending service's !reset to the base", () => {
    const got = resolveExtends(y("{base: {image: a, ports: ['80:80']}, web: {extends: base, ports: !reset []}}"), noOther);
    expect(resolveMergeTags(got.web)).toEqual({ image: "a" });
  });
});

describe("resolveExtends across files", () => {
  const root = mkdtempSync(join(tmpdir(), "tscompose-merge-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const write = (rel: string, text: string): string => {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  };

  const loader = () => {
    const loaded: string[] = [];
    const load = (file: string): ExtendsSource => {
      loaded.push(file);
      const model = y(readFileSync(file, "utf8"));
      return { services: (model.services ?? {}) as Dict, dir: dirname(file) };
    };
    return { loaded, load };
  };

  write(
    "common/services.yml",
    `
services:
  base:
    build: {dockerfile: Dockerfile}
    env_file: [./base.env, {path: ./opt.env, required: false}]
    volumes: ['./data:/data', 'named:/named', {type: bind, source: ./conf, target: /conf}, '/abs:/abs']
  app:
    extends: base
    image: 'app:1'
  deep:
    extends: {file: ../shared/more.yml, service: tools}
`,
  );
  write("shared/more.yml", "services:\n  tools: {build: ./tools, cap_add: [SYS_PTRACE]}\n");
  write("loop/a.yml", "services:\n  one: {extends: {file: b.yml, service: two}}\n");
  write("loop/b.yml", "services:\n  two: {extends: {file: a.yml, service: one}}\n");

  it("takes a service from another file and rebases its relative paths there", () => {
    const { loaded, load } = loader();
    const got = resolveExtends(
      y("{web: {extends: {file: common/services.yml, service: app}, volumes: ['./local:/data']}}"),
      load,
      { file: "compose.yml", dir: root },
    );
    const common = join(root, "common");
    expect(got.web).toEqual({
      build: { dockerfile: "Dockerfile", context: common },
      env_file: [join(common, "base.env"), { path: join(common, "opt.env"), required: false }],
      // the extending service's own ./local stays relative to its own file
      volumes: ["./local:/data", "named:/named", { type: "bind", source: join(common, "conf"), target: "/conf" }, "/abs:/abs"],
      image: "app:1",
    });
    expect(loaded).toEqual([join(root, "common/services.yml")]);
  });

  it("follows extends.file relative to the file that declares it", () => {
    const { loaded, load } = loader();
    const got = resolveExtends(y("{dbg: {extends: {file: common/services.yml, service: deep}, cap_add: [NET_ADMIN]}}"), load, {
      file: "compose.yml",
      dir: root,
    });
    expect(got.dbg).toEqual({ build: join(root, "shared/tools"), cap_add: ["SYS_PTRACE", "NET_ADMIN"] });
    expect(loaded).toEqual([join(root, "common/services.yml"), join(root, "shared/more.yml")]);
  });

  it("loads each other file once", () => {
    const { loaded, load } = loader();
    resolveExtends(
      y(`
a: {extends: {file: common/services.yml, service: app}}
b: {extends: {file: common/services.yml, service: base}}
`),
      load,
      { file: "compose.yml", dir: root },
    );
    expect(loaded).toEqual([join(root, "common/services.yml")]);
  });

  it("reports a service missing from the other file", () => {
    const { load } = loader();
    expect(() => resolveExtends(y("{web: {extends: {file: shared/more.yml, service: nope}}}"), load, { file: "compose.yml", dir: root })).toThrow(
      'service "web" extends "nope", which is not defined in shared/more.yml',
    );
  });

  it("detects a cycle across files", () => {
    const { load } = loader();
    const err = catchError(() => resolveExtends(y("{start: {extends: {file: loop/a.yml, service: one}}}"), load, { file: "compose.yml", dir: root }));
    expect((err as MergeError).code).toBe("cycle");
    expect(err.message).toBe(`service "one": extends cycle one (${join("loop", "a.yml")}) -> two (${join("loop", "b.yml")}) -> one (${join("loop", "a.yml")})`);
    expect((err as MergeError).file).toBe(join(root, "loop/a.yml"));
  });

  it("passes extends.file unchanged to loadOther when the file's directory is unknown", () => {
    const seen: string[] = [];
    const got = resolveExtends(y("{web: {extends: {file: /x/base.yml, service: b}}}"), (file) => {
      seen.push(file);
      return { services: { b: { image: "b", build: "./ctx" } }, dir: "/x" };
    });
    expect(seen).toEqual(["/x/base.yml"]);
    expect(got.web).toEqual({ image: "b", build: "/x/ctx" });
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}
