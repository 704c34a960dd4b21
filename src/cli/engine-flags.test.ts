import { describe, expect, it } from "vitest";
import { buildProgram } from "./program.js";
import { engineChoiceFrom } from "./engine-flags.js";
import { engineChoiceOfProgram } from "./program.js";

describe("engine flags", () => {
  it("nothing said, nothing sent: the daemon's default decides", () => {
    expect(engineChoiceFrom({}, {}, "/w", "/home/u")).toBeUndefined();
  });

  it("the flag beats TSCOMPOSE_ENGINE, -H beats DOCKER_HOST", () => {
    expect(engineChoiceFrom({}, { TSCOMPOSE_ENGINE: "docker", DOCKER_HOST: "unix:///e.sock" }, "/w")).toEqual({ kind: "docker", host: "unix:///e.sock" });
    expect(engineChoiceFrom({ engine: "embedded", host: "tcp://h:2375" }, { TSCOMPOSE_ENGINE: "docker", DOCKER_HOST: "unix:///e.sock" }, "/w")).toEqual({ kind: "embedded", host: "tcp://h:2375" });
  });

  it("TLS as the docker CLI finds it: flags, else $DOCKER_CERT_PATH, else ~/.docker; paths made absolute", () => {
    expect(engineChoiceFrom({ tlsverify: true, host: "tcp://h:2376" }, {}, "/w", "/home/u")).toEqual({
      host: "tcp://h:2376",
      tls: { ca: "/home/u/.docker/ca.pem", cert: "/home/u/.docker/cert.pem", key: "/home/u/.docker/key.pem" },
    });
    expect(engineChoiceFrom({ tlscacert: "certs/ca.pem" }, { DOCKER_CERT_PATH: "/c", DOCKER_HOST: "tcp://h:2376" }, "/w")?.tls).toEqual({ ca: "/w/certs/ca.pem", cert: "/c/cert.pem", key: "/c/key.pem" });
    expect(engineChoiceFrom({ engine: "docker" }, { DOCKER_TLS_VERIFY: "1" }, "/w", "/h")?.tls?.key).toBe("/h/.docker/key.pem");
  });

  it("an unknown engine or host scheme is a usage error naming where it came from", () => {
    expect(() => engineChoiceFrom({}, { TSCOMPOSE_ENGINE: "podman" }, "/w")).toThrow(/TSCOMPOSE_ENGINE=podman: the engines are embedded, docker, swarm/);
    expect(() => engineChoiceFrom({ host: "ssh://me@h" }, {}, "/w")).toThrow(/-H=ssh:\/\/me@h/);
    expect(() => engineChoiceFrom({}, { DOCKER_HOST: "h:2375" }, "/w")).toThrow(/DOCKER_HOST=h:2375/);
  });

  it("the global flags parse before the command, as docker's -H does", async () => {
    const program = buildProgram("0.0.0");
    let seen: unknown = "not run";
    program.hook("preAction", () => {
      seen = engineChoiceOfProgram(program, {});
      throw new Error("stop");
    });
    program.exitOverride();
    await expect(program.parseAsync(["--engine", "docker", "-H", "unix:///p.sock", "ps"], { from: "user" })).rejects.toThrow("stop");
    expect(seen).toEqual({ kind: "docker", host: "unix:///p.sock" });
    for (const cmd of program.commands) cmd.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    await expect(program.parseAsync(["--engine", "podman", "ps"], { from: "user" })).rejects.toThrow(/podman/);
  });
});
