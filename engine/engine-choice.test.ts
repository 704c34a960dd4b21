import { describe, expect, it } from "vitest";
import { kindOf } from "./errors.js";
import { engineChoice } from "./index.js";

describe("engineChoice: which backend the daemon opens", () => {
  it("env TSCOMPOSE_ENGINE, else daemon.json, else embedded; dockerd from DOCKER_HOST, else daemon.json", () => {
    expect(engineChoice({}, { engine: undefined, dockerHost: undefined })).toEqual({ kind: "embedded" });
    expect(engineChoice({}, { engine: "docker", dockerHost: undefined })).toEqual({ kind: "docker" });
    expect(engineChoice({}, { engine: "docker", dockerHost: "tcp://10.0.0.1:2375" })).toEqual({ kind: "docker", host: "tcp://10.0.0.1:2375" });
    expect(engineChoice({ TSCOMPOSE_ENGINE: "docker", DOCKER_HOST: "unix:///x.sock" }, { engine: "embedded", dockerHost: "tcp://10.0.0.1:2375" })).toEqual({ kind: "docker", host: "unix:///x.sock" });
    expect(engineChoice({ TSCOMPOSE_ENGINE: "embedded" }, { engine: "docker", dockerHost: undefined })).toEqual({ kind: "embedded" });
  });

  it("an engine nobody knows is invalid, naming the variable", () => {
    let err: unknown;
    try {
      engineChoice({ TSCOMPOSE_ENGINE: "swarm" }, { engine: undefined, dockerHost: undefined });
    } catch (e) {
      err = e;
    }
    expect(kindOf(err)).toBe("invalid");
    expect((err as Error).message).toMatch(/TSCOMPOSE_ENGINE=swarm/);
  });
});
