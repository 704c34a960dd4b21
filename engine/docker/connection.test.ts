import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kindOf } from "../errors.js";
import { compareApiVersions, connectionOptions, negotiateApiVersion, tlsFromEnv, untrusted } from "./connection.js";
import { translateDockerError } from "./errors.js";

describe("DOCKER_HOST and the API version", () => {
  it("unix:// and tcp:// as the docker CLI reads them", () => {
    expect(connectionOptions({ host: "unix:///run/x.sock", env: {} })).toEqual({ socketPath: "/run/x.sock" });
    expect(connectionOptions({ env: {} })).toEqual({ socketPath: "/var/run/docker.sock" });
    expect(connectionOptions({ env: { DOCKER_HOST: "tcp://10.0.0.1" } })).toEqual({ host: "10.0.0.1", port: 2375, protocol: "http" });
    expect(connectionOptions({ host: "tcp://[::1]:2999", env: {} })).toEqual({ host: "::1", port: 2999, protocol: "http" });
    for (const bad of ["ssh://me@host", "unix://", "npipe:////./pipe/docker"]) expect(kindOf(catching(() => connectionOptions({ host: bad, env: {} })))).toBe("invalid");
    expect((catching(() => connectionOptions({ host: "tcp://h:1", env: { DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/nonexistent" } })) as Error).message).toMatch(/\/nonexistent\/ca\.pem/);
  });

  it("a server certificate the CA does not vouch for names the host and the CA file; other errors are left as they are", () => {
    const tlsError = Object.assign(new Error("self-signed certificate in certificate chain"), { code: "SELF_SIGNED_CERT_IN_CHAIN" });
    const e = untrusted(tlsError, { host: "tcp://10.0.0.1:2376", env: { DOCKER_CERT_PATH: "/certs" } });
    expect(kindOf(e)).toBe("forbidden");
    expect(e?.message).toBe("docker host tcp://10.0.0.1:2376: its TLS certificate was not trusted by the CA in /certs/ca.pem (--tlscacert, DOCKER_CERT_PATH): self-signed certificate in certificate chain");
    const other = untrusted(Object.assign(new Error("hostname mismatch"), { code: "ERR_TLS_CERT_ALTNAME_INVALID" }), { host: "tcp://h:2376", tls: { ca: "/c/ca.pem", cert: "/c/cert.pem", key: "/c/key.pem" }, env: {} });
    expect(other?.message).toMatch(/^docker host tcp:\/\/h:2376: its TLS certificate was not trusted by the CA in \/c\/ca\.pem/);
    expect(untrusted(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), { host: "tcp://h:2376", env: {} })).toBeUndefined();
  });

  it("the server's version, capped at the newest known, refused below 1.41", () => {
    expect(negotiateApiVersion("1.41")).toBe("1.41");
    expect(negotiateApiVersion("1.43")).toBe("1.43");
    expect(negotiateApiVersion("1.47")).toBe("1.44");
    expect((catching(() => negotiateApiVersion("1.40")) as Error).message).toMatch(/1\.40.*1\.41/);
    expect(kindOf(catching(() => negotiateApiVersion(undefined)))).toBe("unavailable");
    expect(compareApiVersions("1.9", "1.41")).toBe(-1);
  });

  it("dockerd's statuses become the engine's kinds once", () => {
    const err = (statusCode: number, message: string): unknown => Object.assign(new Error("modem"), { statusCode, json: { message } });
    expect(kindOf(translateDockerError(err(404, "No such container: x")))).toBe("not-found");
    expect(kindOf(translateDockerError(err(409, "Conflict")))).toBe("conflict");
    expect(kindOf(translateDockerError(err(400, "bad")))).toBe("invalid");
    expect(kindOf(translateDockerError(err(401, "unauthorized")))).toBe("unauthorized");
    expect(kindOf(translateDockerError(err(500, "Container abc is not running")))).toBe("conflict");
    expect(kindOf(translateDockerError(err(500, "write /x: no space left on device")))).toBe("no-space");
    expect(kindOf(translateDockerError(err(500, "boom")))).toBe("internal");
    expect(kindOf(translateDockerError(err(503, "later")))).toBe("unavailable");
    expect(kindOf(translateDockerError(err(500, 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host')))).toBe("unavailable");
    expect(translateDockerError(err(404, "No such image: y"), "inspect").message).toBe("inspect: No such image: y");
    expect(kindOf(translateDockerError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })))).toBe("unavailable");
  });
});

function catching(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("TLS settings reach dockerode", () => {
  it("explicit files (--tlscacert/--tlscert/--tlskey) are read and handed over, https on 2376 by default", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsc-tls-"));
    try {
      for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, f), `${f} content`);
      const files = { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
      const o = connectionOptions({ host: "tcp://10.0.0.1", tls: files, env: {} });
      expect(o).toMatchObject({ host: "10.0.0.1", port: 2376, protocol: "https" });
      expect([o.ca, o.cert, o.key].map((b) => (b as Buffer).toString())).toEqual(["ca.pem content", "cert.pem content", "key.pem content"]);
      // DOCKER_CERT_PATH, as the docker CLI reads it.
      const fromEnv = connectionOptions({ host: "tcp://10.0.0.1:9999", env: { DOCKER_CERT_PATH: dir } });
      expect(fromEnv).toMatchObject({ port: 9999, protocol: "https" });
      expect((fromEnv.key as Buffer).toString()).toBe("key.pem content");
      expect(tlsFromEnv({ DOCKER_TLS_VERIFY: "1" }, "/home/u")).toEqual({ ca: "/home/u/.docker/ca.pem", cert: "/home/u/.docker/cert.pem", key: "/home/u/.docker/key.pem" });
      expect(tlsFromEnv({})).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the daemon's own DOCKER_HOST and DOCKER_CERT_PATH do not leak into another host's connection", () => {
    // dockerode fills missing options from process.env: the options say so explicitly.
    const o = connectionOptions({ host: "unix:///run/x.sock", env: {} });
    expect(Object.keys(o)).toEqual(expect.arrayContaining(["host", "ca", "cert", "key"]));
    expect([o.host, o.ca, o.cert, o.key]).toEqual([undefined, undefined, undefined, undefined]);
    expect(connectionOptions({ host: "tcp://h:2375", env: {} }).ca).toBeUndefined();
  });
});
