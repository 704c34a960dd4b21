import { expect, test } from "vitest";
import { endpointsFor, isInsecure, isLoopback, parseHostsConfig } from "./hosts.js";

test("registry settings are normalized; a mirror must be an http(s) URL (daemon.json itself: engine/config.test.ts)", () => {
  expect(parseHostsConfig({ mirrors: ["http://127.0.0.1:5000/"], insecure: ["http://myreg:5000", "10.0.0.0/8"] })).toEqual({
    mirrors: ["http://127.0.0.1:5000"],
    insecure: ["myreg:5000", "10.0.0.0/8"],
  });
  expect(parseHostsConfig({ mirrors: [], insecure: [] })).toEqual({ mirrors: [], insecure: [] });
  expect(() => parseHostsConfig({ mirrors: ["127.0.0.1:5000"], insecure: [] })).toThrow(/is not a URL|must be http or https/);
  expect(() => parseHostsConfig({ mirrors: ["http://u:p@mirror"], insecure: [] })).toThrow("must not contain credentials");
});

test("mirrors apply to Docker Hub only, before Hub", () => {
  const config = { mirrors: ["http://127.0.0.1:5000"], insecure: [] };
  expect(endpointsFor("docker.io", config).map((e) => [e.url, e.mirror, e.credentialHost])).toEqual([
    ["http://127.0.0.1:5000", true, "127.0.0.1:5000"],
    ["https://registry-1.docker.io", false, "docker.io"],
  ]);
  expect(endpointsFor("quay.io", config).map((e) => e.url)).toEqual(["https://quay.io"]);
});

test("loopback is plain http, insecure registries try https without verification first", () => {
  const config = { mirrors: [], insecure: ["myreg:5000", "10.0.0.0/8"] };
  expect(endpointsFor("localhost:5000", config)[0]).toMatchObject({ url: "http://localhost:5000", skipTlsVerify: false });
  expect(endpointsFor("127.0.0.1:5000", config)[0]?.url).toBe("http://127.0.0.1:5000");
  expect(endpointsFor("[::1]:5000", config)[0]?.url).toBe("http://[::1]:5000");
  expect(endpointsFor("myreg:5000", config)[0]).toMatchObject({ url: "https://myreg:5000", skipTlsVerify: true, httpFallback: true });
  expect(endpointsFor("10.1.2.3:5000", config)[0]).toMatchObject({ skipTlsVerify: true });
  expect(endpointsFor("11.1.2.3:5000", config)[0]).toMatchObject({ url: "https://11.1.2.3:5000", skipTlsVerify: false, httpFallback: false });
  expect(isLoopback("127.8.0.1")).toBe(true);
  expect(isLoopback("128.0.0.1:80")).toBe(false);
  expect(isInsecure("myreg:5001", config)).toBe(false);
});
