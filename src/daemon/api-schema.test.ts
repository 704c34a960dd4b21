import { describe, expect, it } from "vitest";
import { downRequest } from "../cli/down.js";
import { dockerConfigLocation } from "../cli/images.js";
import { upRequest } from "../cli/up.js";
import type { ProjectOptions } from "../stack/load.js";
import type { CopyRequest, ExecRequest, ExportRequest, RunRequest, UpRequest } from "./api.js";
import { checkRequest } from "./api-schema.js";
import { HttpError } from "./http.js";

/** What the CLI's projectOptions() gives: the whole environment of a process, with its odd values. */
const project: ProjectOptions = {
  files: ["/srv/app/compose.yaml", "/srv/app/compose.override.yaml"],
  projectName: undefined,
  projectDirectory: undefined,
  envFiles: [],
  profiles: ["debug"],
  env: { ...process.env, EMPTY: "", UNSET: undefined, UNICODE: "é\u0000\n" },
  cwd: "/srv/app",
};

/** A request as it travels: through JSON, as the client sends it. */
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

function rejects(kind: Parameters<typeof checkRequest>[0], body: unknown, message: RegExp): void {
  try {
    checkRequest(kind, body);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    expect((err as Error).message).toMatch(message);
    return;
  }
  throw new Error(`accepted: ${JSON.stringify(body)}`);
}

describe("the request schemas accept what the clients send", () => {
  it("up, with every flag the CLI has", () => {
    const flagSets = [
      {},
      { detach: true, wait: true, waitTimeout: 30, forceRecreate: true, deps: false, scale: ["web=3", "worker=0"], removeOrphans: true, pull: "always" as const, exitCodeFrom: "web", watch: true },
      { recreate: false, pull: "never" as const },
    ];
    for (const flags of flagSets) {
      for (const services of [[], ["web", "db"]]) checkRequest("UpRequest", wire(upRequest(project, services, flags)));
    }
    checkRequest("UpRequest", wire(upRequest({ ...project, projectName: "p", projectDirectory: "/srv" }, [], {})));
  });

  it("up, as run sends it for dependencies and the TUI from a stack's detail", () => {
    checkRequest("UpRequest", wire({ project: upRequest(project, [], {}).project, options: { services: ["db"], pull: undefined } }));
    const stored: UpRequest["options"] = { services: ["web"], scale: { web: 2 }, wait: true, waitTimeoutMs: 5000, watch: true, startStopped: true };
    checkRequest("UpRequest", wire({ project: upRequest(project, [], {}).project, options: { ...stored, services: undefined, wait: false, watch: stored.watch } }));
  });

  it("down, by files, by name (-p), with -v -t and from the TUI", () => {
    checkRequest("DownRequest", wire(downRequest(project, {})));
    checkRequest("DownRequest", wire(downRequest({ ...project, projectName: "p" }, { volumes: true, removeOrphans: true, timeout: 0 })));
    checkRequest("DownRequest", wire({ projectName: "p", options: {} }));
  });

  it("exec and run", () => {
    const exec: ExecRequest = { cmd: ["sh", "-c", "ls"], env: ["A=1"], user: undefined, workingDir: "/tmp", tty: false, detach: false, rows: undefined, cols: 80 };
    checkRequest("ExecRequest", wire(exec));
    const run: RunRequest = {
      project: upRequest(project, [], {}).project,
      service: "web",
      command: ["echo", "hi"],
      entrypoint: [],
      env: [],
      user: "1000:1000",
      workingDir: undefined,
      name: "one-off",
      tty: false,
      rm: true,
      detach: false,
      ports: [{ containerPort: 80, protocol: "tcp", hostPort: "8080", hostIp: undefined }, { containerPort: 53, protocol: "udp", hostPort: undefined, hostIp: "127.0.0.1" }],
      servicePorts: true,
      useAliases: false,
      labels: { a: "b" },
      pull: "missing",
    };
    checkRequest("RunRequest", wire(run));
  });

  it("cp both ways and export; a wrong direction or an empty path is refused", () => {
    const copy: CopyRequest = { direction: "toContainer", hostPath: "/srv/app/file", containerPath: "/data/", followLink: false, archive: true };
    checkRequest("CopyRequest", wire(copy));
    checkRequest("CopyRequest", wire({ direction: "fromContainer", hostPath: "/srv/out/.", containerPath: "/data/." }));
    rejects("CopyRequest", { direction: "sideways", hostPath: "/a", containerPath: "/b" }, /direction must be one of/);
    rejects("CopyRequest", { direction: "toContainer", hostPath: "", containerPath: "/b" }, /hostPath/);
    rejects("CopyRequest", { direction: "toContainer", hostPath: "/a", containerPath: "/b", owner: 0 }, /unknown key "owner"/);
    const exp: ExportRequest = { hostPath: "/srv/app.tar" };
    checkRequest("ExportRequest", wire(exp));
    rejects("ExportRequest", {}, /hostPath/);
  });
});

describe("the request schemas refuse wrong bodies, naming the key", () => {
  const ref = wire(upRequest(project, [], {})) as UpRequest;
  it("a missing or non-object body", () => {
    rejects("UpRequest", undefined, /the body must be object/);
    rejects("UpRequest", [], /the body must be object/);
    rejects("DownRequest", { options: {} }, /must have required property/);
  });
  it("a NaN timeout (null on the wire), a negative or an oversized one", () => {
    rejects("DownRequest", wire({ projectName: "p", options: { timeoutMs: NaN } }), /\/options\/timeoutMs must be number/);
    rejects("DownRequest", { projectName: "p", options: { timeoutMs: -1 } }, /\/options\/timeoutMs must be >= 0/);
    rejects("DownRequest", { projectName: "p", options: { timeoutMs: 2 ** 31 } }, /\/options\/timeoutMs must be <= 2147483647/);
    rejects("UpRequest", { ...ref, options: { waitTimeoutMs: "10s" } }, /\/options\/waitTimeoutMs must be number/);
  });
  it("wrong types and unknown keys", () => {
    rejects("UpRequest", { ...ref, options: { services: "web" } }, /\/options\/services must be array/);
    rejects("UpRequest", { ...ref, options: { scale: { web: 1.5 } } }, /\/options\/scale\/web must be integer/);
    rejects("UpRequest", { ...ref, options: { pull: "sometimes" } }, /\/options\/pull must be one of "always", "missing", "never"/);
    rejects("UpRequest", { ...ref, options: { removeOrphan: true } }, /\/options: unknown key "removeOrphan"/);
    rejects("UpRequest", { ...ref, project: { ...ref.project, env: { A: 1 } } }, /\/project\/env\/A must be string/);
    rejects("ExecRequest", { cmd: [] }, /\/cmd must NOT have fewer than 1 items/);
    rejects("RunRequest", { project: ref.project, service: "web", ports: [{ containerPort: 0, protocol: "tcp" }] }, /\/ports\/0\/containerPort must be >= 1/);
  });
  it("volume and network create: names and labels as strings, no unknown keys", () => {
    expect(checkRequest("VolumeCreateRequest", { name: "v", labels: { a: "" }, driver: "local" })).toEqual({ name: "v", labels: { a: "" }, driver: "local" });
    expect(checkRequest("NetworkCreateRequest", { name: "n", driver: "bridge", subnet: "10.1.0.0/24", gateway: "10.1.0.1", internal: true, labels: {} }).name).toBe("n");
    rejects("VolumeCreateRequest", { name: 7 }, /\/name must be string/);
    rejects("VolumeCreateRequest", { labels: { a: 1 } }, /\/labels\/a must be string/);
    rejects("VolumeCreateRequest", { opts: {} }, /unknown key "opts"/);
    rejects("NetworkCreateRequest", { driver: "bridge" }, /must have required property 'name'/);
    rejects("NetworkCreateRequest", { name: "n", internal: "yes" }, /\/internal must be boolean/);
  });
  it("the image verbs: what the CLI sends passes, a missing reference, an empty password or an unknown key does not", () => {
    const auth = dockerConfigLocation({ DOCKER_CONFIG: "/home/u/.docker", HOME: "/home/u" });
    expect(checkRequest("ImagePullRequest", wire({ ref: "busybox", platform: "linux/amd64", auth })).auth).toEqual({ dockerConfig: "/home/u/.docker", home: "/home/u" });
    expect(checkRequest("ImagePushRequest", wire({ ref: "localhost:5000/a:1", auth: dockerConfigLocation({}) })).ref).toBe("localhost:5000/a:1");
    expect(checkRequest("ImageTagRequest", { source: "a", target: "b:1" }).target).toBe("b:1");
    expect(checkRequest("LogoutRequest", { auth })).toEqual({ auth });
    rejects("ImagePullRequest", { ref: "" }, /\/ref must NOT have fewer than 1 characters/);
    rejects("ImagePullRequest", { ref: "busybox", auth: { path: "/etc/shadow" } }, /\/auth: unknown key "path"/);
    rejects("ImageRemoveRequest", { ref: "a", force: "yes" }, /\/force must be boolean/);
    rejects("LoginRequest", { username: "u", password: "" }, /\/password must NOT have fewer than 1 characters/);
  });
});
