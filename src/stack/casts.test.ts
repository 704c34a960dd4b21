import { describe, expect, it } from "vitest";
import { buildCastTree, CAST_TABLE, castKindAt, castScalar, splitPattern } from "./casts.js";
import type { CastKind } from "./casts.js";
import { castInterpolated, interpolateValue } from "./interpolate.js";
import type { PathSegment } from "./parse.js";
import { parseYaml } from "./parse.js";

describe("castKindAt", () => {
  const cases: { name: string; path: PathSegment[]; want: CastKind | undefined }[] = [
    { name: "replicas", path: ["services", "web", "deploy", "replicas"], want: "int" },
    { name: "port target", path: ["services", "web", "ports", 0, "target"], want: "int" },
    { name: "port published stays a string", path: ["services", "web", "ports", 0, "published"], want: undefined },
    { name: "ports under a key, not an index", path: ["services", "web", "ports", "0", "target"], want: undefined },
    { name: "privileged", path: ["services", "web", "privileged"], want: "bool" },
    { name: "cpus", path: ["services", "web", "cpus"], want: "float" },
    { name: "limits cpus via *", path: ["services", "web", "deploy", "resources", "limits", "cpus"], want: "float" },
    // `reservations` is also a literal key at that level (devices); `*` must still apply.
    { name: "reservations cpus via *", path: ["services", "web", "deploy", "resources", "reservations", "cpus"], want: "float" },
    { name: "reservations pids via *", path: ["services", "web", "deploy", "resources", "reservations", "pids"], want: "int" },
    {
      name: "device count",
      path: ["services", "web", "deploy", "resources", "reservations", "devices", 1, "count"],
      want: "int",
    },
    { name: "limits devices is not a thing", path: ["services", "web", "deploy", "resources", "limits", "devices", 0, "count"], want: undefined },
    { name: "ulimit single value", path: ["services", "web", "ulimits", "nproc"], want: "int" },
    { name: "ulimit soft", path: ["services", "web", "ulimits", "nofile", "soft"], want: "int" },
    { name: "depends_on required", path: ["services", "web", "depends_on", "db", "required"], want: "bool" },
    { name: "env_file required", path: ["services", "web", "env_file", 0, "required"], want: "bool" },
    { name: "volume read_only", path: ["services", "web", "volumes", 2, "read_only"], want: "bool" },
    { name: "bind create_host_path", path: ["services", "web", "volumes", 0, "bind", "create_host_path"], want: "bool" },
    { name: "volume nocopy", path: ["services", "web", "volumes", 0, "volume", "nocopy"], want: "bool" },
    { name: "restart max_attempts", path: ["services", "web", "deploy", "restart_policy", "max_attempts"], want: "int" },
    { name: "healthcheck retries", path: ["services", "web", "healthcheck", "retries"], want: "int" },
    { name: "network external", path: ["networks", "front", "external"], want: "bool" },
    { name: "network enable_ipv6", path: ["networks", "front", "enable_ipv6"], want: "bool" },
    { name: "volume external", path: ["volumes", "data", "external"], want: "bool" },
    { name: "secret external", path: ["secrets", "s", "external"], want: "bool" },
    { name: "config external", path: ["configs", "c", "external"], want: "bool" },
    { name: "image is a string", path: ["services", "web", "image"], want: undefined },
    { name: "mem_limit keeps its unit string", path: ["services", "web", "mem_limit"], want: undefined },
    { name: "environment values stay strings", path: ["services", "web", "environment", "tty"], want: undefined },
    { name: "prefix of a pattern", path: ["services", "web", "deploy"], want: undefined },
    { name: "longer than a pattern", path: ["services", "web", "tty", "x"], want: undefined },
    { name: "extension", path: ["x-defaults", "web", "tty"], want: undefined },
  ];
  it.each(cases)("$name", ({ path, want }) => {
    expect(castKindAt(path)).toBe(want);
  });

  it("splits patterns into keys, * and []", () => {
    expect(splitPattern("services.*.ports[].target")).toEqual(["services", "*", "ports", "[]", "target"]);
    expect(() => splitPattern("a..b")).toThrow("bad cast pattern");
  });

  it("has no conflicting or malformed entries", () => {
    expect(() => buildCastTree(CAST_TABLE)).not.toThrow();
    expect(() => buildCastTree([["a.*.b", "int"], ["a.x.b", "bool"]])).toThrow("conflicting");
  });
});

describe("castScalar", () => {
  const cases: { kind: CastKind; input: string; want: unknown; warns?: string }[] = [
    { kind: "int", input: "3", want: 3 },
    { kind: "int", input: "+3", want: 3 },
    { kind: "int", input: "-1", want: -1 },
    { kind: "int", input: "007", want: 7 },
    { kind: "int", input: "3.0", want: "3.0" },
    { kind: "int", input: " 3", want: " 3" },
    { kind: "int", input: "1_000", want: "1_000" },
    { kind: "int", input: "0x10", want: "0x10" },
    { kind: "int", input: "", want: "" },
    { kind: "int", input: "all", want: "all" },
    { kind: "int", input: "9007199254740993", want: "9007199254740993" },
    { kind: "float", input: "0.5", want: 0.5 },
    { kind: "float", input: ".5", want: 0.5 },
    { kind: "float", input: "2", want: 2 },
    { kind: "float", input: "1.", want: 1 },
    { kind: "float", input: "-1.5e3", want: -1500 },
    { kind: "float", input: "inf", want: "inf" },
    { kind: "float", input: "1.5 ", want: "1.5 " },
    { kind: "float", input: "1,5", want: "1,5" },
    { kind: "bool", input: "true", want: true },
    { kind: "bool", input: "TRUE", want: true },
    { kind: "bool", input: "False", want: false },
    { kind: "bool", input: "yes", want: true, warns: '"yes" for boolean is not supported by YAML 1.2, please use `true`' },
    { kind: "bool", input: "ON", want: true, warns: '"ON" for boolean is not supported by YAML 1.2, please use `true`' },
    { kind: "bool", input: "n", want: false, warns: '"n" for boolean is not supported by YAML 1.2, please use `false`' },
    { kind: "bool", input: "off", want: false, warns: '"off" for boolean is not supported by YAML 1.2, please use `false`' },
    { kind: "bool", input: "1", want: "1" },
    { kind: "bool", input: "", want: "" },
    { kind: "bool", input: "true ", want: "true " },
  ];
  it.each(cases)("$kind $input", ({ kind, input, want, warns }) => {
    const warnings: string[] = [];
    expect(castScalar(kind, input, (m) => warnings.push(m))).toBe(want);
    expect(warnings).toEqual(warns ? [warns] : []);
  });
});

describe("castInterpolated", () => {
  it("casts strings at known paths and nothing else", () => {
    const input = {
      services: {
        web: {
          image: "123",
          privileged: "true",
          tty: "no",
          cpus: "0.5",
          scale: "many",
          deploy: { replicas: "3", resources: { limits: { pids: "100" }, reservations: { devices: [{ count: "all" }, { count: "2" }] } } },
          ports: [{ target: "80", published: "8080" }, "9000:90"],
          ulimits: { nproc: "65535", nofile: { soft: "1024", hard: "2048" } },
          environment: { DEBUG: "true", N: "1" },
          depends_on: { db: { condition: "service_started", required: "false" } },
          volumes: [{ type: "bind", source: ".", target: "/src", read_only: "TRUE", bind: { create_host_path: "false" } }],
        },
      },
      networks: { front: { external: "false" }, back: null },
      volumes: { data: { external: true } },
      "x-ext": { privileged: "true" },
    };
    const snapshot = structuredClone(input);
    const warnings: string[] = [];
    const got = castInterpolated(input, (m) => warnings.push(m));
    expect(got).toEqual({
      services: {
        web: {
          image: "123",
          privileged: true,
          tty: false,
          cpus: 0.5,
          scale: "many",
          deploy: { replicas: 3, resources: { limits: { pids: 100 }, reservations: { devices: [{ count: "all" }, { count: 2 }] } } },
          ports: [{ target: 80, published: "8080" }, "9000:90"],
          ulimits: { nproc: 65535, nofile: { soft: 1024, hard: 2048 } },
          environment: { DEBUG: "true", N: "1" },
          depends_on: { db: { condition: "service_started", required: false } },
          volumes: [{ type: "bind", source: ".", target: "/src", read_only: true, bind: { create_host_path: false } }],
        },
      },
      networks: { front: { external: false }, back: null },
      volumes: { data: { external: true } },
      "x-ext": { privileged: "true" },
    });
    expect(warnings).toEqual(['"no" for boolean is not supported by YAML 1.2, please use `false`']);
    expect(input).toEqual(snapshot);
  });

  it("returns the same object when nothing needs a cast", () => {
    const input = { services: { web: { image: "nginx", deploy: { replicas: 2 } } } };
    expect(castInterpolated(input)).toBe(input);
  });

  it("turns interpolated values back into numbers and booleans", () => {
    const parsed = parseYaml(
      [
        "services:",
        "  web:",
        "    image: nginx:${TAG:-1}",
        "    read_only: ${RO:-false}",
        "    deploy:",
        "      replicas: ${REPLICAS}",
        "    ports:",
        "      - target: ${PORT}",
        "        published: ${PORT}",
      ].join("\n"),
      "compose.yaml",
    );
    const env: Record<string, string> = { REPLICAS: "3", PORT: "8080" };
    const value = interpolateValue(parsed, (n) => env[n], () => {});
    expect(castInterpolated(value)).toEqual({
      services: {
        web: {
          image: "nginx:1",
          read_only: false,
          deploy: { replicas: 3 },
          ports: [{ target: 8080, published: "8080" }],
        },
      },
    });
  });
});
