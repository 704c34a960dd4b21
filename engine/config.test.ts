import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { CONFIG_KEYS, defaultEngineConfig, parseEngineConfig, readEngineConfig } from "./config.js";

const dir = mkdtempSync(join(tmpdir(), "tscompose-config-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** A valid value for every accepted key, none of them the default. */
const EVERY_KEY: Record<string, unknown> = {
  "registry-mirrors": ["http://127.0.0.1:5000/"],
  "insecure-registries": ["myreg:5000"],
  "x-tscompose-docker-hub-url": "http://127.0.0.1:9",
  "max-concurrent-downloads": 7,
  "max-concurrent-uploads": 2,
  "x-tscompose-max-layer-size": 1024,
  "x-tscompose-max-layer-ratio": 20,
  "x-tscompose-max-layer-entries": 5,
  dns: ["127.0.0.1:9"],
  "default-address-pools": [{ base: "10.99.0.0/16", size: 24 }],
  "x-tscompose-network-prefix": "t1a2",
  runtimes: { traced: { path: "/usr/local/bin/traced-runc", runtimeArgs: ["--debug"] } },
  "x-tscompose-engine": "docker",
  "x-tscompose-docker-host": "tcp://127.0.0.1:2375",
};

describe("daemon.json", () => {
  test("a missing file means the defaults", () => {
    expect(readEngineConfig(join(dir, "absent.json"))).toEqual(defaultEngineConfig());
    expect(defaultEngineConfig()).toMatchObject({ maxConcurrentDownloads: 3, maxConcurrentUploads: 5, hosts: { mirrors: [], insecure: [] }, dns: undefined });
  });

  test("every key lands in the parsed config", () => {
    expect(readEngineConfig(file("all.json", JSON.stringify(EVERY_KEY)))).toEqual({
      hosts: { mirrors: ["http://127.0.0.1:5000"], insecure: ["myreg:5000"] },
      dockerHubUrl: "http://127.0.0.1:9",
      maxConcurrentDownloads: 7,
      maxConcurrentUploads: 2,
      layerLimits: { maxSize: 1024, maxRatio: 20, ratioFloor: 2 ** 30, maxEntries: 5 },
      dns: ["127.0.0.1:9"],
      defaultAddressPools: [{ base: "10.99.0.0/16", size: 24 }],
      networkPrefix: "t1a2",
      runtimes: { traced: { path: "/usr/local/bin/traced-runc", runtimeArgs: ["--debug"] } },
      engine: "docker",
      dockerHost: "tcp://127.0.0.1:2375",
    });
  });

  // A key the reader accepts but nothing uses is the drift this file exists to stop:
  // each accepted key, alone, must change the parsed config (its consumers are listed in config.ts).
  test.each(Object.keys(EVERY_KEY))("%s, alone, changes the parsed config", (key) => {
    expect(parseEngineConfig({ [key]: EVERY_KEY[key] })).not.toEqual(defaultEngineConfig());
  });

  test("the default engine may be swarm, its manager the docker host", () => {
    expect(parseEngineConfig({ "x-tscompose-engine": "swarm", "x-tscompose-docker-host": "unix:///m/docker.sock" })).toMatchObject({ engine: "swarm", dockerHost: "unix:///m/docker.sock" });
  });

  test("the accepted keys are exactly the ones above", () => {
    expect([...CONFIG_KEYS].sort()).toEqual(Object.keys(EVERY_KEY).sort());
  });

  test("an unknown key is an error naming the file and the key", () => {
    const path = file("unknown.json", JSON.stringify({ "registry-mirror": ["http://127.0.0.1:5000"] }));
    expect(() => readEngineConfig(path)).toThrow(`${path}: unknown key "registry-mirror" (known keys: registry-mirrors, `);
  });

  test.each([
    ["registry-mirrors", "http://x", "must be an array of strings"],
    ["dns", [53], "must be an array of strings"],
    ["max-concurrent-downloads", 0, "must be a positive integer"],
    ["max-concurrent-uploads", 1.5, "must be a positive integer"],
    ["x-tscompose-max-layer-size", "10G", "must be a positive integer"],
    ["x-tscompose-max-layer-ratio", 0.5, "must be a number of at least 1"],
    ["x-tscompose-docker-hub-url", 9, "must be a URL string"],
    ["default-address-pools", [{ base: "10.0.0.0/8" }], 'must be a list of {"base": "10.0.0.0/8", "size": 24}'],
    ["x-tscompose-network-prefix", "TOO-LONG", "must be 1 to 5 of [a-z0-9]"],
    ["x-tscompose-engine", "kubernetes", 'must be "embedded", "docker" or "swarm"'],
    ["runtimes", ["runc"], "must be a mapping of names"],
    ["runtimes", { runc: { path: "/usr/bin/runc" } }, `cannot name "runc": runtime name 'runc' is reserved`],
    ["runtimes", { "a b": { path: "/x" } }, `has an invalid runtime name "a b"`],
    ["runtimes", { x: { runtimeArgs: [] } }, `entry "x" must be {"path": "/usr/bin/x", "runtimeArgs": [...]}`],
    ["runtimes", { x: { path: "/x", runtimeArgs: "--debug" } }, `entry "x": runtimeArgs must be an array of strings`],
    ["runtimes", { x: { path: "/x", runtimeType: "io.containerd.runsc.v1" } }, `entry "x" has an unknown key "runtimeType"`],
  ])("a wrong type: %s = %j", (key, value, why) => {
    const path = file(`bad-${key}.json`, JSON.stringify({ [key]: value }));
    expect(() => readEngineConfig(path)).toThrow(`${path}: "${key}" ${why}`);
  });

  test("a bad mirror URL, broken JSON and a non-object are located errors too", () => {
    const mirror = file("mirror.json", JSON.stringify({ "registry-mirrors": ["127.0.0.1:5000"] }));
    expect(() => readEngineConfig(mirror)).toThrow(new RegExp(`^${mirror}: "registry-mirrors": "127.0.0.1:5000" (is not a URL|must be http or https)`));
    const broken = file("broken.json", "{ dns: [");
    expect(() => readEngineConfig(broken)).toThrow(`${broken}: `);
    const list = file("list.json", "[]");
    expect(() => readEngineConfig(list)).toThrow(`${list}: not a JSON object`);
  });
});
