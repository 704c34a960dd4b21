import { describe, expect, it } from "vitest";
import { kindOf } from "./errors.js";
import { engineKey, resolveEngineTarget } from "./index.js";

const none = { engine: undefined, dockerHost: undefined };
const tls = { ca: "/c/ca.pem", cert: "/c/cert.pem", key: "/c/key.pem" };

describe("resolveEngineTarget: the engine a request means", () => {
  it("the request's choice, else the daemon's env TSCOMPOSE_ENGINE, else daemon.json, else embedded", () => {
    expect(resolveEngineTarget({}, {}, none)).toEqual({ kind: "embedded" });
    expect(resolveEngineTarget({}, {}, { engine: "docker", dockerHost: undefined })).toEqual({ kind: "docker", host: "unix:///var/run/docker.sock" });
    expect(resolveEngineTarget({}, { TSCOMPOSE_ENGINE: "embedded" }, { engine: "docker", dockerHost: undefined })).toEqual({ kind: "embedded" });
    expect(resolveEngineTarget({ kind: "docker" }, { TSCOMPOSE_ENGINE: "embedded" }, none)).toEqual({ kind: "docker", host: "unix:///var/run/docker.sock" });
    expect(resolveEngineTarget({ kind: "embedded", host: "tcp://h:1" }, { TSCOMPOSE_ENGINE: "docker" }, none)).toEqual({ kind: "embedded" });
  });

  it("dockerd: the request's host, else the daemon's DOCKER_HOST, else daemon.json, else the local socket", () => {
    const cfg = { engine: "docker" as const, dockerHost: "tcp://10.0.0.1:2375" };
    expect(resolveEngineTarget({}, {}, cfg)).toEqual({ kind: "docker", host: "tcp://10.0.0.1:2375" });
    expect(resolveEngineTarget({}, { DOCKER_HOST: "unix:///d.sock" }, cfg)).toEqual({ kind: "docker", host: "unix:///d.sock" });
    expect(resolveEngineTarget({ host: "unix:///x.sock" }, { DOCKER_HOST: "unix:///d.sock" }, cfg)).toEqual({ kind: "docker", host: "unix:///x.sock" });
  });

  it("TLS goes with the host it came with, and only to tcp://", () => {
    const daemonTls = { DOCKER_HOST: "tcp://d:2376", DOCKER_CERT_PATH: "/d" };
    // The daemon's host: the daemon's DOCKER_CERT_PATH.
    expect(resolveEngineTarget({ kind: "docker" }, daemonTls, none)).toEqual({ kind: "docker", host: "tcp://d:2376", tls: { ca: "/d/ca.pem", cert: "/d/cert.pem", key: "/d/key.pem" } });
    // The client's host without TLS: none, whatever the daemon's environment says.
    expect(resolveEngineTarget({ kind: "docker", host: "tcp://c:2375" }, daemonTls, none)).toEqual({ kind: "docker", host: "tcp://c:2375" });
    expect(resolveEngineTarget({ kind: "docker", host: "tcp://c:2376", tls }, daemonTls, none)).toEqual({ kind: "docker", host: "tcp://c:2376", tls });
    expect(resolveEngineTarget({ kind: "docker", host: "unix:///x.sock", tls }, {}, none)).toEqual({ kind: "docker", host: "unix:///x.sock" });
  });

  it("swarm: a manager found as dockerd is; an unknown engine is invalid, naming the choices", () => {
    expect(resolveEngineTarget({ kind: "swarm" }, {}, none)).toEqual({ kind: "swarm", host: "unix:///var/run/docker.sock" });
    expect(resolveEngineTarget({ kind: "swarm", host: "unix:///m.sock" }, { DOCKER_HOST: "unix:///d.sock" }, none)).toEqual({ kind: "swarm", host: "unix:///m.sock" });
    // daemon.json's default engine may be swarm, with its manager, as --engine swarm -H is.
    const manager = { engine: "swarm" as const, dockerHost: "tcp://10.0.0.2:2375" };
    expect(resolveEngineTarget({}, {}, manager)).toEqual({ kind: "swarm", host: "tcp://10.0.0.2:2375" });
    expect(resolveEngineTarget({ kind: "embedded" }, {}, manager)).toEqual({ kind: "embedded" });
    const bad = catching(() => resolveEngineTarget({}, { TSCOMPOSE_ENGINE: "podman" }, none));
    expect(kindOf(bad)).toBe("invalid");
    expect((bad as Error).message).toMatch(/"podman".*embedded, docker, swarm/);
  });

  it("one key per engine: stacks on the same dockerd share it, TLS files aside", () => {
    expect(engineKey({ kind: "embedded" })).toBe("embedded");
    expect(engineKey({ kind: "docker", host: "tcp://h:2376", tls })).toBe(engineKey({ kind: "docker", host: "tcp://h:2376" }));
    expect(engineKey({ kind: "docker", host: "unix:///a.sock" })).not.toBe(engineKey({ kind: "docker", host: "unix:///b.sock" }));
    // A swarm stack on the manager's dockerd is not a docker stack on it.
    expect(engineKey({ kind: "swarm", host: "unix:///a.sock" })).not.toBe(engineKey({ kind: "docker", host: "unix:///a.sock" }));
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
