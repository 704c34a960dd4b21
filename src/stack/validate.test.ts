import { describe, expect, it } from "vitest";
import { StackError } from "./errors.js";
import { parseYaml } from "./parse.js";
import { validateSchema } from "./validate.js";

// A realistic stack using most supported keys; it must pass as it is.
const FULL_STACK = `
version: "3.9"
name: shop
x-common: &common
  restart: unless-stopped
  logging:
    driver: json-file
    options:
      max-size: 10m
      max-file: 3
include:
  - ./monitoring.yml
  - path: [./extra.yml, ./extra.override.yml]
    env_file: ./extra.env
    project_directory: .
services:
  web:
    <<: *common
    image: registry.example.com/shop/web:1.4
    build:
      context: ./web
      dockerfile: Dockerfile.prod
      target: runtime
      args:
        NODE_ENV: production
        BUILD_NUMBER: 42
      labels: [org.example.build=web]
      cache_from: [registry.example.com/shop/web:cache]
    container_name: shop-web
    hostname: web
    domainname: example.com
    entrypoint: ["/sbin/tini", "--"]
    command: ["node", "server.js"]
    working_dir: /app
    user: "1000:1000"
    environment:
      PORT: 8080
      DEBUG: false
      EMPTY: null
      NAME: web
    env_file:
      - .env
      - path: ./web.env
        required: false
    labels:
      com.example.team: shop
    ports:
      - 80
      - "8080:8080"
      - "127.0.0.1:9229:9229"
      - "[::1]:9230:9230"
      - "8000-8002:8000-8002/udp"
      - target: 443
        published: "8443"
        host_ip: 0.0.0.0
        protocol: tcp
        mode: host
        name: https
        app_protocol: https
        x-note: long form allows extensions
    expose: ["3000", 3001]
    volumes:
      - ./static:/app/static:ro
      - type: bind
        source: ./config
        target: /app/config
        read_only: true
        bind: { propagation: rprivate, create_host_path: true, selinux: z }
      - type: volume
        source: uploads
        target: /app/uploads
        volume: { nocopy: true, subpath: web }
      - type: tmpfs
        target: /tmp
        tmpfs: { size: 64m, mode: 1777 }
    tmpfs: /run
    networks:
      front:
        aliases: [www, shop]
        ipv4_address: 172.28.0.10
        priority: 100
      back:
    depends_on:
      db:
        condition: service_healthy
        restart: true
      cache:
        condition: service_started
        required: false
      worker: {}
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8080/healthz"]
      interval: 30s
      timeout: 1.5s
      retries: 3
      start_period: 1m30s
      start_interval: 500ms
    deploy:
      mode: replicated
      replicas: 2
      labels: [com.example.tier=frontend]
      resources:
        limits: { cpus: "0.50", memory: 512m, pids: 200 }
        reservations: { cpus: 0.25, memory: 128m }
      restart_policy: { condition: on-failure, delay: 5s, max_attempts: 3, window: 2m }
      update_config: { parallelism: 1, delay: 10s, order: start-first }
    profiles: [web]
    pull_policy: if_not_present
    cap_add: [NET_BIND_SERVICE]
    cap_drop: [ALL]
    privileged: false
    read_only: true
    init: true
    tty: false
    stdin_open: false
    stop_signal: SIGTERM
    stop_grace_period: 20s
    shm_size: 64m
    sysctls:
      net.core.somaxconn: 1024
    ulimits:
      nproc: 65535
      nofile: { soft: 20000, hard: 40000 }
    extra_hosts:
      - "host.docker.internal:host-gateway"
    dns: [1.1.1.1, 8.8.8.8]
    dns_search: example.com
    mac_address: 02:42:ac:11:00:02
    mem_limit: 1g
    memswap_limit: 2147483648
    cpus: 1.5
    cpu_shares: 512
    cpuset: "0,1"
    pids_limit: 500
    platform: linux/amd64
    secrets:
      - db_password
      - source: api_key
        target: /run/secrets/api
        uid: "1000"
        gid: "1000"
        mode: 0440
    configs:
      - nginx_conf
    develop:
      watch:
        - path: ./web/src
          action: sync
          target: /app/src
          ignore: [node_modules/]
        - path: ./web/package.json
          action: rebuild
    x-tscompose:
      schedule: "*/5 * * * *"
    x-team: shop
  db:
    image: postgres:16
    environment:
      - POSTGRES_PASSWORD_FILE=/run/secrets/db_password
    volumes:
      - dbdata:/var/lib/postgresql/data
    networks: [back]
    healthcheck:
      test: pg_isready -U postgres
      interval: 10s
    secrets: [db_password]
    stop_grace_period: 1m
    shm_size: 268435456
  cache:
    image: redis:7
    command: redis-server --save ""
    restart: always
    networks: [back]
    healthcheck:
      disable: true
    extends:
      file: ./common.yml
      service: redis-base
  worker:
    build: ./worker
    command: null
    depends_on: [db, cache]
    scale: 2
    network_mode: "service:web"
    extends: base-worker
    logging:
      driver: none
networks:
  front:
    driver: bridge
    driver_opts:
      com.docker.network.bridge.name: br-front
      mtu: 1400
    ipam:
      driver: default
      config:
        - subnet: 172.28.0.0/16
          gateway: 172.28.0.1
          ip_range: 172.28.5.0/24
          aux_addresses:
            router: 172.28.1.5
    attachable: true
    enable_ipv6: false
    internal: false
    labels: { com.example.net: front }
  back:
  outside:
    external: true
    name: corp-net
volumes:
  dbdata:
  uploads:
    driver: local
    labels: [com.example.vol=uploads]
  legacy:
    external:
      name: legacy-data
secrets:
  db_password:
    file: ./secrets/db_password.txt
  api_key:
    environment: API_KEY
  vault:
    external: true
    name: prod-vault
configs:
  nginx_conf:
    content: |
      server { listen 80; }
  app_conf:
    file: ./app.conf
x-deploy-notes:
  anything: [goes, here]
`;

interface Case {
  name: string;
  yaml: string;
  /** Absent: the file must validate. */
  wantErr?: RegExp;
  wantPath?: string;
  wantLine?: number;
  wantColumn?: number;
}

const cases: Case[] = [
  { name: "realistic stack passes", yaml: FULL_STACK },
  { name: "empty file passes", yaml: "" },
  { name: "minimal service passes", yaml: "services:\n  web:\n    image: nginx\n" },
  {
    name: "restart is a plain string in compose-spec; its value is checked by the normalizer",
    yaml: "services:\n  web:\n    image: nginx\n    restart: whenever\n",
  },
  {
    name: "x- extensions at top level, in services and in nested objects",
    yaml: [
      "x-anything: { a: 1 }",
      "x-list: [1, 2]",
      "services:",
      "  web:",
      "    image: nginx",
      "    x-owner: team-a",
      "    x-tscompose: { restart_on_unhealthy: true, schedule: '@daily', x-note: 1 }",
      "    healthcheck: { test: [CMD, 'true'], x-why: fast }",
      "networks:",
      "  front: { x-note: n }",
      "",
    ].join("\n"),
  },
  {
    name: "depends_on long form without condition (defaults to service_started)",
    yaml: "services:\n  web:\n    image: a\n    depends_on:\n      db: { required: false }\n  db:\n    image: b\n",
  },
  {
    name: "version may be a number (ignored)",
    yaml: "version: 3.8\nservices: {}\n",
  },
  {
    name: "unknown service key names the key, at the key",
    yaml: "services:\n  web:\n    image: nginx\n    imagee: nginx\n",
    wantErr: /^stack\.yml:4:5: services\.web: additional property "imagee" is not allowed \(did you mean "image"\?\)$/,
    wantPath: "services.web",
    wantLine: 4,
    wantColumn: 5,
  },
  {
    name: "unknown top-level key names the key",
    yaml: "name: shop\nservics:\n  web:\n    image: nginx\n",
    wantErr: /additional property "servics" is not allowed \(did you mean "services"\?\)$/,
    wantPath: "",
    wantLine: 2,
    wantColumn: 1,
  },
  {
    name: "unknown key without a close match gets no suggestion",
    yaml: "services:\n  web:\n    image: nginx\n    flavour: vanilla\n",
    wantErr: /additional property "flavour" is not allowed$/,
    wantLine: 4,
    wantColumn: 5,
  },
  {
    name: "compose keys tscompose does not implement say so",
    yaml: "services:\n  web:\n    image: nginx\n    group_add: [audio]\n",
    wantErr: /services\.web: "group_add" is not supported by tscompose$/,
    wantLine: 4,
    wantColumn: 5,
  },
  {
    name: "malformed service name",
    yaml: "services:\n  my web:\n    image: nginx\n",
    wantErr: /services: invalid name "my web": must match/,
    wantPath: "services",
    wantLine: 2,
    wantColumn: 3,
  },
  {
    name: "wrong type: image is a number",
    yaml: "services:\n  web:\n    image: 3\n",
    wantErr: /services\.web\.image: must be a string, got 3$/,
    wantPath: "services.web.image",
    wantLine: 3,
    wantColumn: 5,
  },
  {
    name: "wrong type: service is not a mapping",
    yaml: "services:\n  web:\n  db:\n    image: postgres\n",
    wantErr: /services\.web: must be a mapping, got null$/,
    wantLine: 2,
    wantColumn: 3,
  },
  {
    name: "wrong type: environment is a string",
    yaml: "services:\n  web:\n    image: a\n    environment: FOO=bar\n",
    wantErr: /services\.web\.environment: must be a mapping or a list, got "FOO=bar"$/,
    wantLine: 4,
    wantColumn: 5,
  },
  {
    name: "wrong type inside environment map",
    yaml: "services:\n  web:\n    image: a\n    environment:\n      A: [1]\n",
    wantErr: /services\.web\.environment\.A: must be a string, a number, a boolean or null, got a list$/,
    wantLine: 5,
    wantColumn: 7,
  },
  {
    name: "interpolated numbers are cast before this stage, so a string replica count is an error here",
    yaml: "services:\n  web:\n    image: a\n    deploy:\n      replicas: '3'\n",
    wantErr: /services\.web\.deploy\.replicas: must be an integer, got "3"$/,
    wantLine: 5,
    wantColumn: 7,
  },
  {
    name: "bad duration",
    yaml: "services:\n  web:\n    image: a\n    healthcheck:\n      test: [CMD, 'true']\n      interval: 10x\n",
    wantErr: /services\.web\.healthcheck\.interval: invalid duration "10x": unknown unit "x"/,
    wantPath: "services.web.healthcheck.interval",
    wantLine: 6,
    wantColumn: 7,
  },
  {
    name: "duration must be a string",
    yaml: "services:\n  web:\n    image: a\n    stop_grace_period: 10\n",
    wantErr: /services\.web\.stop_grace_period: must be a string, got 10$/,
    wantLine: 4,
    wantColumn: 5,
  },
  {
    name: "bad port number in the short syntax",
    yaml: 'services:\n  web:\n    image: a\n    ports:\n      - "80:80"\n      - "99999:80"\n',
    wantErr: /services\.web\.ports\[1\]: invalid port "99999:80": port 99999 is out of range/,
    wantPath: "services.web.ports[1]",
    wantLine: 6,
    wantColumn: 9,
  },
  {
    name: "mismatched port ranges",
    yaml: 'services:\n  web:\n    image: a\n    ports: ["8000-8010:80-81"]\n',
    wantErr: /ports\[0\]: invalid port "8000-8010:80-81": .*differ in length/,
    wantLine: 4,
    wantColumn: 13,
  },
  {
    name: "port number out of range",
    yaml: "services:\n  web:\n    image: a\n    ports:\n      - 70000\n",
    wantErr: /ports\[0\]: must be <= 65535, got 70000$/,
    wantLine: 5,
    wantColumn: 9,
  },
  {
    name: "port of no valid type lists all accepted types",
    yaml: "services:\n  web:\n    image: a\n    ports:\n      - true\n",
    wantErr: /ports\[0\]: must be an integer, a string or a mapping, got true$/,
    wantLine: 5,
    wantColumn: 9,
  },
  {
    name: "long port form: unknown key reported, not the string branch",
    yaml: "services:\n  web:\n    image: a\n    ports:\n      - target: 80\n        publised: 8080\n",
    wantErr: /services\.web\.ports\[0\]: additional property "publised" is not allowed \(did you mean "published"\?\)$/,
    wantLine: 6,
    wantColumn: 9,
  },
  {
    name: "long port form: bad published range",
    yaml: "services:\n  web:\n    image: a\n    ports:\n      - target: 80\n        published: 80-x\n",
    wantErr: /ports\[0\]\.published: invalid port range "80-x"/,
    wantLine: 6,
    wantColumn: 9,
  },
  {
    name: "long port form: target is required",
    yaml: "services:\n  web:\n    image: a\n    ports:\n      - published: 80\n",
    wantErr: /ports\[0\]: missing required property "target"$/,
    wantLine: 5,
    wantColumn: 9,
  },
  {
    name: "duplicate ports",
    yaml: 'services:\n  web:\n    image: a\n    ports:\n      - "80:80"\n      - "80:80"\n',
    wantErr: /ports\[1\]: duplicate entry: same as item \[0\]$/,
    wantLine: 6,
    wantColumn: 9,
  },
  {
    name: "bad enum names the allowed values",
    yaml: "services:\n  web:\n    image: a\n    depends_on:\n      db:\n        condition: started\n",
    wantErr: /depends_on\.db\.condition: must be one of service_started, service_healthy, service_completed_successfully; got "started"$/,
    wantLine: 6,
    wantColumn: 9,
  },
  {
    name: "nested oneOf: a list item of the wrong type is reported at the item",
    yaml: "services:\n  web:\n    image: a\n    healthcheck:\n      test: [CMD, 1]\n",
    wantErr: /healthcheck\.test\[1\]: must be a string, got 1$/,
    wantLine: 5,
    wantColumn: 19,
  },
  {
    name: "env_file long form needs a path",
    yaml: "services:\n  web:\n    image: a\n    env_file:\n      - required: false\n",
    wantErr: /env_file\[0\]: missing required property "path"$/,
    wantLine: 5,
    wantColumn: 9,
  },
  {
    name: "long volume with an unsupported mount type",
    yaml: "services:\n  web:\n    image: a\n    volumes:\n      - type: npipe\n        target: /x\n",
    wantErr: /volumes\[0\]\.type: must be one of bind, volume, tmpfs; got "npipe"$/,
    wantLine: 5,
    wantColumn: 9,
  },
  {
    name: "x-tscompose must be a mapping",
    yaml: "services:\n  web:\n    image: a\n    x-tscompose: yes\n",
    wantErr: /services\.web\.x-tscompose: must be a mapping, got "yes"$/,
    wantLine: 4,
    wantColumn: 5,
  },
  {
    name: "unknown key in a top-level network",
    yaml: "networks:\n  front:\n    drivr: bridge\n",
    wantErr: /networks\.front: additional property "drivr" is not allowed \(did you mean "driver"\?\)$/,
    wantLine: 3,
    wantColumn: 5,
  },
  {
    name: "secrets have no inline content in compose-spec",
    yaml: "secrets:\n  s:\n    content: hunter2\n",
    wantErr: /secrets\.s: additional property "content" is not allowed/,
    wantLine: 3,
    wantColumn: 5,
  },
  {
    name: "develop.watch action is an enum",
    yaml: "services:\n  web:\n    image: a\n    develop:\n      watch:\n        - path: .\n          action: copy\n",
    wantErr: /develop\.watch\[0\]\.action: must be one of rebuild, sync, restart, sync\+restart, sync\+exec; got "copy"$/,
    wantLine: 7,
    wantColumn: 11,
  },
];

describe("validateSchema", () => {
  for (const c of cases) {
    it(c.name, () => {
      const parsed = parseYaml(c.yaml, "stack.yml");
      if (!c.wantErr) {
        expect(() => validateSchema(parsed)).not.toThrow();
        return;
      }
      let caught: unknown;
      try {
        validateSchema(parsed);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(StackError);
      const err = caught as StackError;
      expect(err.code).toBe("schema");
      expect(err.message).toMatch(c.wantErr);
      if (c.wantPath !== undefined) expect(err.path ?? "").toBe(c.wantPath);
      expect(err.location?.file).toBe("stack.yml");
      if (c.wantLine !== undefined) expect(err.location?.line).toBe(c.wantLine);
      if (c.wantColumn !== undefined) expect(err.location?.column).toBe(c.wantColumn);
    });
  }

  it("reports the realistic stack's first error once a key is broken", () => {
    // Guards the "passes" case above: the same text with one typo must fail,
    // so a schema that accepted anything would be caught.
    const broken = FULL_STACK.replace("    cap_drop: [ALL]\n", "    cap_drops: [ALL]\n");
    expect(broken).not.toBe(FULL_STACK);
    expect(() => validateSchema(parseYaml(broken, "stack.yml"))).toThrow(
      /services\.web: additional property "cap_drops" is not allowed \(did you mean "cap_drop"\?\)/,
    );
  });
});
