import { expect, test } from "vitest";
import { credentialKey, parseDockerConfig } from "./credentials.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

test("auths entries by every spelling Docker writes", () => {
  const lookup = parseDockerConfig(
    JSON.stringify({
      auths: {
        "https://index.docker.io/v1/": { auth: b64("hubuser:hub:pass") },
        "http://127.0.0.1:5000": { username: "local", password: "pw" },
        "registry.example.com": { identitytoken: "tok" },
      },
    }),
    "config.json",
  );
  expect(lookup("docker.io")).toEqual({ username: "hubuser", password: "hub:pass" });
  expect(lookup("registry-1.docker.io")).toEqual({ username: "hubuser", password: "hub:pass" });
  expect(lookup("127.0.0.1:5000")).toEqual({ username: "local", password: "pw" });
  expect(lookup("127.0.0.1:5001")).toBeUndefined();
  expect(lookup("registry.example.com")).toBeUndefined();
});

test("credential helpers and identity tokens are warned about, bad files named", () => {
  const warnings: string[] = [];
  parseDockerConfig(JSON.stringify({ credsStore: "pass", credHelpers: { "gcr.io": "gcloud" }, auths: { "x.io": { identitytoken: "t" } } }), "c.json", (m) => warnings.push(m));
  expect(warnings).toEqual([
    'c.json: credsStore "pass" is not supported; only credentials stored in "auths" are used',
    'c.json: credHelpers are not supported (gcr.io); only credentials stored in "auths" are used',
    "c.json: the identity token for x.io is not supported; pulls from it are anonymous",
  ]);
  expect(() => parseDockerConfig("{", "c.json")).toThrow(/^c\.json: invalid JSON/);
  expect(() => parseDockerConfig(JSON.stringify({ auths: { "x.io": { auth: b64("nocolon") } } }), "c.json")).toThrow(
    'c.json: the "auth" of x.io is not base64 of "username:password"',
  );
});

test("credentialKey", () => {
  expect(credentialKey("https://index.docker.io/v1/")).toBe("docker.io");
  expect(credentialKey("HTTPS://Registry.Example.com:443/path")).toBe("registry.example.com:443");
  expect(credentialKey("[::1]:5000")).toBe("[::1]:5000");
});
