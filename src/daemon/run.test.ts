import { describe, expect, it } from "vitest";
import { LABEL } from "../../model/labels.js";
import { service, stackOf } from "../../reconciler/testing.js";
import type { RunRequest } from "./api.js";
import { runSpec, withRunOverrides } from "./run.js";

const web = service("web", {
  command: ["httpd", "-f"],
  entrypoint: undefined,
  environment: { A: "1" },
  ports: [{ target: 80, published: "8080", hostIp: undefined, protocol: "tcp", mode: "ingress", name: undefined, appProtocol: undefined }],
});
const stack = stackOf([web]);
const req = (over: Partial<RunRequest> = {}): RunRequest => ({ project: { files: [], envFiles: [], profiles: [], env: {}, cwd: "/" }, service: "web", ...over });

describe("runSpec: a one-off container as compose v2 makes it", () => {
  it("is named <project>-<service>-run-<12 hex>, labelled oneoff with its slug, without the service's ports or aliases", () => {
    const spec = runSpec(stack, web, 1, req());
    expect(spec.name).toMatch(/^app-web-run-[0-9a-f]{12}$/);
    expect(spec.labels[LABEL.oneoff]).toBe("True");
    expect(spec.labels[LABEL.slug]).toMatch(/^[0-9a-f]{64}$/);
    expect(spec.labels[LABEL.slug]?.slice(0, 12)).toBe(spec.name.slice(-12));
    expect(spec.ports).toEqual([]);
    for (const net of Object.values(spec.networks)) expect(net.aliases).toEqual([spec.name]);
    expect(spec.cmd).toEqual(["httpd", "-f"]);
    expect(spec.openStdin).toBe(false);
    // run -i: a stdin that its one client's end closes.
    expect(runSpec(stack, web, 1, req({ interactive: true }))).toMatchObject({ openStdin: true, stdinOnce: true });
  });

  it("applies the command line: command, env, user, workdir, name, labels, ports", () => {
    const spec = runSpec(
      stack,
      web,
      2,
      req({ command: ["sh"], env: ["B=2", "A=x"], user: "1000", workingDir: "/tmp", name: "mine", labels: { l: "v" }, ports: [{ containerPort: 9, protocol: "udp", hostPort: "9", hostIp: undefined }], servicePorts: true }),
    );
    expect(spec.name).toBe("mine");
    expect(spec.cmd).toEqual(["sh"]);
    expect(spec.env.sort()).toEqual(["A=x", "B=2"]);
    expect(spec.user).toBe("1000");
    expect(spec.workingDir).toBe("/tmp");
    expect(spec.labels.l).toBe("v");
    expect(spec.ports.map((p) => `${p.hostPort}:${p.containerPort}/${p.protocol}`)).toEqual(["8080:80/tcp", "9:9/udp"]);
  });

  it("drops the service's command when only the entrypoint is replaced, as compose", () => {
    expect(runSpec(stack, web, 1, req({ entrypoint: ["env"] })).cmd).toEqual([]);
    expect(runSpec(stack, web, 1, req({ entrypoint: ["env"], command: ["x"] })).cmd).toEqual(["x"]);
  });
});

describe("withRunOverrides: run -v, --cap-add, --cap-drop on top of the service", () => {
  const svc = service("web", {
    capAdd: ["NET_ADMIN"],
    capDrop: [],
    volumes: [{ type: "volume", source: "data", target: "/data", readOnly: false, bind: undefined, volume: { nocopy: false, subpath: undefined }, tmpfs: undefined, image: undefined, consistency: undefined }],
  });

  it("adds volumes and capabilities, a volume at the service's target replacing it, and leaves the service as it was", () => {
    const out = withRunOverrides(svc, { volumes: ["/host:/data:ro", "/h2:/more"], capAdd: ["SYS_ADMIN", "NET_ADMIN"], capDrop: ["CHOWN"] });
    expect(out.volumes.map((v) => `${v.type} ${v.source} ${v.target} ${v.readOnly}`)).toEqual(["bind /host /data true", "bind /h2 /more false"]);
    expect(out.capAdd).toEqual(["NET_ADMIN", "SYS_ADMIN"]);
    expect(out.capDrop).toEqual(["CHOWN"]);
    expect(svc.volumes).toHaveLength(1);
    expect(svc.capAdd).toEqual(["NET_ADMIN"]);
    expect(runSpec(stackOf([out]), out, 1, req()).mounts.map((m) => m.target)).toEqual(["/data", "/more"]);
  });

  it("refuses a bad volume spec by name", () => {
    expect(() => withRunOverrides(svc, { volumes: ["x:y"] })).toThrow('invalid volume specification "x:y"');
  });
});
