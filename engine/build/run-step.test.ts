import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { planBuild } from "./dockerfile/plan.js";
import type { RunStep } from "./dockerfile/types.js";
import { pruneMountPoints, runArgv, runContainerSpec } from "./run-step.js";

const runStep = (dockerfile: string, buildArgs: Record<string, string> = {}): RunStep => {
  const step = planBuild(`FROM busybox\n${dockerfile}`, { buildArgs }).stages[0]?.steps.find((s) => s.kind === "run");
  if (step?.kind !== "run") throw new Error("no RUN");
  return step;
};

describe("RUN's command", () => {
  it("shell form through the stage's SHELL; exec form as written", () => {
    expect(runArgv(runStep("RUN make all\n"))).toEqual(["/bin/sh", "-c", "make all"]);
    expect(runArgv(runStep('SHELL ["/bin/ash", "-eo", "pipefail", "-c"]\nRUN make\n'))).toEqual(["/bin/ash", "-eo", "pipefail", "-c", "make"]);
    expect(runArgv(runStep('RUN ["echo", "$HOME"]\n'))).toEqual(["echo", "$HOME"]);
  });

  it("a lone heredoc is the script; heredocs with a command are given to the shell to read", () => {
    expect(runArgv(runStep("RUN <<EOF\necho one\necho two\nEOF\n"))).toEqual(["/bin/sh", "-c", "echo one\necho two\n"]);
    expect(runArgv(runStep("RUN cat <<EOF > /f\nbody $X\nEOF\n"))).toEqual(["/bin/sh", "-c", "cat <<EOF > /f\nbody $X\nEOF\n"]);
  });

  it("the container: build args under the config's env (an ENV of the same name wins), the config's user and working dir, the network", () => {
    const step = runStep("ARG V=from-arg\nARG W=w\nRUN env\n");
    const spec = runContainerSpec({ image: "sha256:x", config: { Env: ["PATH=/bin", "V=from-env"], User: "app", WorkingDir: "/srv" }, step, argv: ["env"], network: "none", mounts: [], files: [], secretEnv: ["S=1"], shmSize: undefined, extraHosts: [] });
    expect(spec.env).toEqual(["V=from-env", "W=w", "PATH=/bin", "S=1"]);
    expect(spec).toMatchObject({ user: "app", workingDir: "/srv", networkMode: "none", entrypoint: [], cmd: ["env"] });
    const defaults = runContainerSpec({ image: "sha256:x", config: {}, step, argv: ["env"], network: "default", mounts: [], files: [], secretEnv: [], shmSize: undefined, extraHosts: [] });
    expect(defaults).toMatchObject({ user: "0", workingDir: "/", networkMode: "bridge" });
    expect(Object.keys(defaults.networks)).toEqual(["bridge"]);
  });
});

describe("pruneMountPoints", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("removes the empty stubs at mount targets and the parents left empty for them, keeps what the step wrote", async () => {
    dir = await mkdtemp(join(tmpdir(), "tsc-prune-"));
    await mkdir(join(dir, "etc"));
    await writeFile(join(dir, "etc/hosts"), "");
    await writeFile(join(dir, "etc/resolv.conf"), "");
    await mkdir(join(dir, "run/secrets"), { recursive: true });
    await writeFile(join(dir, "run/secrets/token"), "");
    await mkdir(join(dir, "root/.cache"), { recursive: true });
    await writeFile(join(dir, "root/kept"), "written by the step");
    await mkdir(join(dir, "proc"));
    // A target where the step left content (it wrote under a path that was not mounted): kept.
    await mkdir(join(dir, "var/lib"), { recursive: true });
    await writeFile(join(dir, "var/lib/data"), "x");
    await pruneMountPoints(dir, ["/run/secrets/token", "/root/.cache", "/var/lib"]);
    expect((await readdir(dir)).sort()).toEqual(["root", "var"]);
    expect(await readdir(join(dir, "root"))).toEqual(["kept"]);
    expect(await readdir(join(dir, "var/lib"))).toEqual(["data"]);
  });
});
