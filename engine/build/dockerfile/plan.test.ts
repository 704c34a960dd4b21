// Expected values come from Docker's Dockerfile reference (docs.docker.com,
// "Dockerfile reference": ARG/ENV scoping, environment replacement, heredocs,
// RUN --mount, HEALTHCHECK, LABEL/ENV syntax, the escape directive) and
// BuildKit's documented behaviour, not from this code's output.
import { describe, expect, it } from "vitest";
import { DockerfileError } from "./errors.js";
import { planBuild, type PlanOptions } from "./plan.js";
import type { CmdStep, CopyStep, RunStep, Step } from "./types.js";

type StepOf<K extends Step["kind"]> = K extends "copy" | "add" ? CopyStep : K extends "cmd" | "entrypoint" ? CmdStep : Extract<Step, { kind: K }>;

const amd64: PlanOptions = { platform: { os: "linux", architecture: "amd64" } };
const plan = (text: string, options: PlanOptions = {}) => planBuild(text, { ...amd64, ...options });
const steps = (text: string, options: PlanOptions = {}): Step[] => {
  const p = plan(text, options);
  return (p.stages[p.target] as { steps: Step[] }).steps;
};
const step = <K extends Step["kind"]>(text: string, kind: K, options: PlanOptions = {}, nth = 0): StepOf<K> => {
  const found = steps(text, options).filter((s) => s.kind === kind);
  const s = found[nth];
  if (s === undefined) throw new Error(`no ${kind} step`);
  return s as StepOf<K>;
};
const error = (text: string, options: PlanOptions = {}): string => {
  try {
    plan(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(DockerfileError);
    return (err as Error).message;
  }
  throw new Error("no error");
};

describe("ARG and ENV scoping", () => {
  it("an ARG before FROM serves the FROM line; re-declared in the stage it keeps its value", () => {
    const text = "ARG VERSION=latest\nFROM busybox:$VERSION\nARG VERSION\nRUN echo $VERSION > image_version\n";
    const p = plan(text);
    expect(p.pulls).toEqual(["busybox:latest"]);
    expect((p.stages[0]?.steps[1] as RunStep).buildArgs).toEqual({ VERSION: "latest" });
  });

  it("an ARG before FROM is not visible inside the stage unless re-declared", () => {
    const text = "ARG VERSION=latest\nFROM busybox:$VERSION\nWORKDIR /v$VERSION\nRUN echo $VERSION\n";
    expect(step(text, "workdir").path).toBe("/v");
    expect(step(text, "run").buildArgs).toEqual({});
  });

  it("a build arg overrides the ARG default, in FROM and in the stage", () => {
    const text = "ARG VERSION=latest\nFROM busybox:$VERSION\nARG VERSION\nARG OTHER=dflt\nWORKDIR /$VERSION/$OTHER\n";
    const p = plan(text, { buildArgs: { VERSION: "1.36", OTHER: "given" } });
    expect(p.pulls).toEqual(["busybox:1.36"]);
    expect(step(text, "workdir", { buildArgs: { VERSION: "1.36", OTHER: "given" } }).path).toBe("/1.36/given");
  });

  it("ENV overrides an ARG of the same name (the reference's CONT_IMG_VER example)", () => {
    const text = "FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=v1.0.0\nRUN echo $CONT_IMG_VER\nWORKDIR /$CONT_IMG_VER\n";
    const opts = { buildArgs: { CONT_IMG_VER: "v2.0.1" } };
    expect(step(text, "env", opts).vars).toEqual([["CONT_IMG_VER", "v1.0.0"]]);
    expect(step(text, "workdir", opts).path).toBe("/v1.0.0");
    expect(step(text, "run", opts).buildArgs).toEqual({});
  });

  it("ENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0} takes the build arg when given, the default otherwise", () => {
    const text = "FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\n";
    expect(step(text, "env", { buildArgs: { CONT_IMG_VER: "v2.0.1" } }).vars).toEqual([["CONT_IMG_VER", "v2.0.1"]]);
    expect(step(text, "env").vars).toEqual([["CONT_IMG_VER", "v1.0.0"]]);
  });

  it("one ENV instruction expands every value with the environment from before it", () => {
    const text = "FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n";
    expect(step(text, "env", {}, 1).vars).toEqual([
      ["abc", "bye"],
      ["def", "hello"],
    ]);
    expect(step(text, "env", {}, 2).vars).toEqual([["ghi", "bye"]]);
  });

  it("the reference's replacement example: WORKDIR, ADD and an escaped $ in COPY", () => {
    const text = "FROM busybox\nENV FOO=/bar\nWORKDIR ${FOO}\nADD . $FOO\nCOPY \\$FOO /quux\n";
    expect(step(text, "workdir").path).toBe("/bar");
    const add = step(text, "add");
    expect([add.sources, add.dest]).toEqual([["."], "/bar"]);
    const copy = step(text, "copy");
    expect([copy.sources, copy.dest]).toEqual([["$FOO"], "/quux"]);
  });

  it("ENV values: quotes, escaped spaces and the legacy `ENV key value` form", () => {
    const text = 'FROM busybox\nENV MY_NAME="John Doe"\nENV MY_DOG=Rex\\ The\\ Dog\nENV MY_CAT=fluffy\nENV MY_VAR my-value\n';
    const all = steps(text).flatMap((s) => (s.kind === "env" ? s.vars : []));
    expect(all).toEqual([
      ["MY_NAME", "John Doe"],
      ["MY_DOG", "Rex The Dog"],
      ["MY_CAT", "fluffy"],
      ["MY_VAR", "my-value"],
    ]);
  });

  it("the base image's environment feeds expansion (ENV PATH=/x:$PATH)", () => {
    const text = "FROM debian\nENV PATH=/opt/bin:$PATH\n";
    const imageConfig = (ref: string) => (ref === "debian" ? { env: ["PATH=/usr/bin:/bin"] } : undefined);
    expect(step(text, "env", { imageConfig }).vars).toEqual([["PATH", "/opt/bin:/usr/bin:/bin"]]);
  });

  it("a stage built FROM another stage starts with that stage's ENV", () => {
    const text = "FROM busybox AS base\nENV A=1\nFROM base\nWORKDIR /$A\n";
    expect(step(text, "workdir").path).toBe("/1");
  });

  it("ARG with several names and a default that uses an earlier ARG", () => {
    const text = "FROM busybox\nARG A=x B=${A}y C\nWORKDIR /$A/$B/$C\n";
    expect(step(text, "arg").args).toEqual([
      { name: "A", value: "x" },
      { name: "B", value: "xy" },
      { name: "C", value: undefined },
    ]);
    expect(step(text, "workdir").path).toBe("/x/xy/");
  });
});

describe("the automatic platform ARGs", () => {
  it("are defined for FROM lines without a declaration", () => {
    const p = plan("FROM --platform=$BUILDPLATFORM busybox AS b\nFROM busybox-$TARGETARCH\n");
    expect(p.stages[0]?.platform).toBe("linux/amd64");
    expect(p.pulls).toEqual(["busybox-amd64"]);
  });

  it("are visible in a stage only when declared with ARG", () => {
    const text = "FROM busybox\nARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDOS BUILDARCH\nRUN echo\n";
    expect(step(text, "run").buildArgs).toEqual({
      TARGETPLATFORM: "linux/amd64",
      TARGETOS: "linux",
      TARGETARCH: "amd64",
      TARGETVARIANT: "",
      BUILDOS: "linux",
      BUILDARCH: "amd64",
    });
    expect(step("FROM busybox\nWORKDIR /$TARGETARCH\n", "workdir").path).toBe("/");
  });

  it("name the variant on arm", () => {
    const p = planBuild("FROM busybox\nARG TARGETPLATFORM\nRUN true\n", { platform: { os: "linux", architecture: "arm", variant: "v7" } });
    expect((p.stages[0]?.steps[1] as RunStep).buildArgs).toEqual({ TARGETPLATFORM: "linux/arm/v7" });
  });
});

describe("which instructions expand variables", () => {
  const text = [
    "FROM busybox",
    "ARG V=val",
    "RUN echo $V",
    'CMD echo "$V"',
    'ENTRYPOINT ["echo", "$V"]',
    "USER $V",
    "LABEL l=$V",
    "EXPOSE ${P:-8080}",
    "VOLUME /data/$V",
    "STOPSIGNAL SIG$V",
    "HEALTHCHECK CMD echo $V",
    "ONBUILD RUN echo $V",
    "",
  ].join("\n");
  const all = steps(text);
  it("RUN, CMD, ENTRYPOINT, HEALTHCHECK and ONBUILD are left as written", () => {
    expect(all.find((s) => s.kind === "run")).toMatchObject({ command: { form: "shell", shell: ["/bin/sh", "-c"], script: "echo $V" } });
    expect(all.find((s) => s.kind === "cmd")).toMatchObject({ command: { form: "shell", script: 'echo "$V"' } });
    expect(all.find((s) => s.kind === "entrypoint")).toMatchObject({ command: { form: "exec", argv: ["echo", "$V"] } });
    expect(all.find((s) => s.kind === "healthcheck")).toMatchObject({ test: ["CMD-SHELL", "echo $V"] });
    expect(all.find((s) => s.kind === "onbuild")).toMatchObject({ trigger: "RUN echo $V" });
  });
  it("USER, LABEL, EXPOSE, VOLUME and STOPSIGNAL are expanded", () => {
    expect(all.find((s) => s.kind === "user")).toMatchObject({ user: "val" });
    expect(all.find((s) => s.kind === "label")).toMatchObject({ labels: [["l", "val"]] });
    expect(all.find((s) => s.kind === "expose")).toMatchObject({ ports: ["8080/tcp"] });
    expect(all.find((s) => s.kind === "volume")).toMatchObject({ paths: ["/data/val"] });
    expect(all.find((s) => s.kind === "stopsignal")).toMatchObject({ signal: "SIGval" });
  });
});

describe("instruction forms", () => {
  it("LABEL: quoted keys and values, several per line, a value continued over lines", () => {
    const text = [
      "FROM busybox",
      'LABEL "com.example.vendor"="ACME Incorporated"',
      'LABEL multi.label1="value1" multi.label2="value2" other="value3"',
      'LABEL description="This text illustrates \\',
      'that label-values can span multiple lines."',
      "",
    ].join("\n");
    const labels = steps(text).flatMap((s) => (s.kind === "label" ? s.labels : []));
    expect(labels).toEqual([
      ["com.example.vendor", "ACME Incorporated"],
      ["multi.label1", "value1"],
      ["multi.label2", "value2"],
      ["other", "value3"],
      ["description", "This text illustrates that label-values can span multiple lines."],
    ]);
  });

  it("SHELL changes the shell of later shell-form RUN and CMD, and a child stage inherits it", () => {
    const text = 'FROM busybox AS a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN echo hi\nFROM a\nCMD echo there\n';
    const p = plan(text);
    expect(p.stages[0]?.steps[1]).toMatchObject({ command: { form: "shell", shell: ["/bin/bash", "-o", "pipefail", "-c"], script: "echo hi" } });
    expect(p.stages[1]?.steps[0]).toMatchObject({ command: { form: "shell", shell: ["/bin/bash", "-o", "pipefail", "-c"] } });
  });

  it("exec form RUN", () => {
    expect(step('FROM busybox\nRUN ["/bin/echo", "a b"]\n', "run").command).toEqual({ form: "exec", argv: ["/bin/echo", "a b"] });
  });

  it("HEALTHCHECK options in nanoseconds, NONE", () => {
    const hc = step("FROM busybox\nHEALTHCHECK --interval=5m --timeout=3s --start-period=1s --retries=4 \\\n  CMD curl -f http://localhost/ || exit 1\n", "healthcheck");
    expect(hc).toMatchObject({ test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], interval: 300e9, timeout: 3e9, startPeriod: 1e9, retries: 4 });
    expect(step('FROM busybox\nHEALTHCHECK CMD ["true"]\n', "healthcheck").test).toEqual(["CMD", "true"]);
    expect(step("FROM busybox\nHEALTHCHECK NONE\n", "healthcheck").test).toEqual(["NONE"]);
  });

  it("EXPOSE ports and ranges get their protocol", () => {
    expect(step("FROM busybox\nEXPOSE 80 443/udp 7000-7005\n", "expose").ports).toEqual(["80/tcp", "443/udp", "7000-7005/tcp"]);
    expect(() => step("FROM busybox\nEXPOSE 7005-7000\n", "expose")).toThrow(/Dockerfile:2: .*invalid range specified for container port: 7005-7000/);
  });

  it("COPY/ADD flags", () => {
    const text = "FROM busybox AS build\nFROM busybox\nARG U=app\nCOPY --from=build --chown=$U:$U --chmod=755 --link /out/a /out/b /dst/\nADD --checksum=sha256:abc --keep-git-dir=true x.tar /x/\n";
    const copy = step(text, "copy");
    expect(copy).toMatchObject({ sources: ["/out/a", "/out/b"], dest: "/dst/", from: { kind: "stage", index: 0 }, chown: "app:app", chmod: "755", link: true });
    expect(step(text, "add")).toMatchObject({ sources: ["x.tar"], checksum: "sha256:abc", keepGitDir: true, link: false });
  });

  it("COPY --from an image that is not a stage is pulled", () => {
    const p = plan("FROM busybox\nCOPY --from=nginx:latest /etc/nginx/nginx.conf /nginx.conf\n");
    expect(p.pulls).toEqual(["busybox", "nginx:latest"]);
    expect((p.stages[0]?.steps[0] as CopyStep).from).toEqual({ kind: "image", ref: "nginx:latest" });
  });

  it("COPY --from=<index> names an earlier stage", () => {
    expect(step("FROM busybox\nFROM alpine\nCOPY --from=0 /a /b\n", "copy").from).toEqual({ kind: "stage", index: 0 });
  });

  it("the escape directive makes backslashes ordinary (the reference's Windows example)", () => {
    const text = "# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n";
    const all = steps(text);
    expect(all[0]).toMatchObject({ kind: "copy", sources: ["testfile.txt"], dest: "c:\\" });
    expect(all[1]).toMatchObject({ kind: "run", command: { script: "dir c:\\" } });
  });

  it("the escape directive: a backtick continues lines", () => {
    expect(step("# escape=`\nFROM busybox\nRUN echo a `\n  b\n", "run").command).toMatchObject({ script: "echo a   b" });
  });

  it("comment lines inside a continued instruction are dropped, as BuildKit does", () => {
    const run = step("FROM debian\nRUN apt-get update \\\n# a comment\n    && apt-get install -y curl\n", "run");
    expect(run.command).toMatchObject({ script: "apt-get update     && apt-get install -y curl" });
  });

  it("stage names and --from are case-insensitive", () => {
    expect(step("FROM busybox AS Build\nFROM busybox\nCOPY --from=BUILD /a /b\n", "copy").from).toEqual({ kind: "stage", index: 0 });
  });

  it("the syntax directive is ignored", () => {
    expect(plan("# syntax=docker/dockerfile:1.4\nFROM busybox\n").pulls).toEqual(["busybox"]);
  });
});

describe("heredocs", () => {
  it("RUN <<EOF: the body is the script", () => {
    const run = step("FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nRUN true\n", "run");
    expect(run.command).toMatchObject({ form: "shell", script: "<<EOF" });
    expect(run.heredocs).toEqual([{ name: "EOF", content: "apt-get update\napt-get install -y curl\n", expand: true }]);
    expect(step("FROM debian\nRUN <<EOF\napt-get update\nEOF\nRUN true\n", "run", {}, 1).command).toMatchObject({ script: "true" });
  });

  it("several heredocs on one RUN, <<- strips leading tabs, a quoted delimiter does not expand", () => {
    const run = step("FROM busybox\nRUN <<FILE1 cat > file1 && <<-'FILE2' cat > file2\nI am\nfirst\nFILE1\n\tI am\n\tsecond $X\n\tFILE2\n", "run");
    expect(run.command).toMatchObject({ script: "<<FILE1 cat > file1 && <<-'FILE2' cat > file2" });
    expect(run.heredocs).toEqual([
      { name: "FILE1", content: "I am\nfirst\n", expand: true },
      { name: "FILE2", content: "I am\nsecond $X\n", expand: false },
    ]);
  });

  it("COPY <<EOF expands an unquoted body with the build's variables and keeps quotes", () => {
    const copy = step('FROM busybox\nARG FOO=bar\nCOPY <<-EOT /script.sh\n\techo "hello ${FOO}"\nEOT\n', "copy");
    expect(copy).toMatchObject({ sources: [], dest: "/script.sh", heredocs: [{ name: "EOT", content: 'echo "hello bar"\n' }] });
    const quoted = step('FROM busybox\nARG FOO=bar\nCOPY <<"EOT" /script.sh\necho "hello ${FOO}"\nEOT\n', "copy");
    expect(quoted.heredocs[0]?.content).toBe('echo "hello ${FOO}"\n');
  });

  it("COPY of two heredocs and a file into a directory", () => {
    const copy = step("FROM busybox\nCOPY <<FILE1 <<FILE2 ctx.txt /dest/\nfile one\nFILE1\nfile two\nFILE2\n", "copy");
    expect(copy.sources).toEqual(["ctx.txt"]);
    expect(copy.heredocs.map((h) => [h.name, h.content])).toEqual([
      ["FILE1", "file one\n"],
      ["FILE2", "file two\n"],
    ]);
  });
});

describe("RUN flags", () => {
  it("cache mounts: id defaults to the target, sharing shared, mode 0755", () => {
    const run = step("FROM golang\nRUN --mount=type=cache,target=/root/.cache/go-build go build\n", "run");
    expect(run.mounts).toEqual([
      { type: "cache", target: "/root/.cache/go-build", id: "/root/.cache/go-build", sharing: "shared", source: "/", readonly: false, mode: 0o755, uid: 0, gid: 0 },
    ]);
  });

  it("cache mount fields and a variable in the id", () => {
    const run = step("FROM golang\nARG V=1\nRUN --mount=type=cache,id=go-$V,target=/c,sharing=locked,mode=0700,uid=1000,gid=1000,ro true\n", "run");
    expect(run.mounts[0]).toMatchObject({ id: "go-1", sharing: "locked", mode: 0o700, uid: 1000, gid: 1000, readonly: true });
  });

  it("secret mounts: target defaults to /run/secrets/<id>, id to the target's name", () => {
    const run = step("FROM busybox\nRUN --mount=type=secret,id=mytoken --mount=type=secret,target=/root/.aws/credentials,required=true --mount=type=secret,id=K,env=TOKEN true\n", "run");
    expect(run.mounts).toEqual([
      { type: "secret", id: "mytoken", target: "/run/secrets/mytoken", required: false, mode: 0o400, uid: 0, gid: 0 },
      { type: "secret", id: "credentials", target: "/root/.aws/credentials", required: true, mode: 0o400, uid: 0, gid: 0 },
      { type: "secret", id: "K", env: "TOKEN", required: false, mode: 0o400, uid: 0, gid: 0 },
    ]);
  });

  it("bind mounts are read-only by default and may come from a stage; tmpfs takes a size", () => {
    const p = plan("FROM busybox AS build\nFROM busybox\nRUN --mount=type=bind,from=build,source=/out,target=/in --mount=target=/src,rw --mount=type=tmpfs,target=/tmp,size=64m true\n");
    expect((p.stages[1]?.steps[0] as RunStep).mounts).toEqual([
      { type: "bind", target: "/in", source: "/out", from: { kind: "stage", index: 0 }, readonly: true },
      { type: "bind", target: "/src", source: "/", readonly: false },
      { type: "tmpfs", target: "/tmp", size: 64 * 1024 * 1024 },
    ]);
    expect(p.stages[1]?.dependsOn).toEqual([0]);
  });

  it("--network", () => {
    expect(step("FROM busybox\nRUN --network=none true\n", "run").network).toBe("none");
    expect(step("FROM busybox\nRUN true\n", "run").network).toBe("default");
    expect(error("FROM busybox\nRUN --network=bridge true\n")).toBe("Dockerfile:2: RUN: unsupported network mode: bridge");
  });

  it("bad mounts are refused with the line", () => {
    expect(error("FROM busybox\nRUN --mount=type=cache true\n")).toBe("Dockerfile:2: RUN: --mount: type=cache requires a target");
    expect(error("FROM busybox\nRUN --mount=type=foo,target=/x true\n")).toMatch(/^Dockerfile:2: RUN: --mount: unsupported mount type "foo"/);
    expect(error("FROM busybox\nRUN --mount=type=bind,target=/x,sharing=shared true\n")).toBe("Dockerfile:2: RUN: --mount: unexpected key 'sharing' for type=bind");
    expect(error("FROM busybox\nRUN --mount=type=cache,target=/x,sharing=all true\n")).toMatch(/unsupported sharing value "all"/);
  });

  it("predefined proxy args reach RUN without an ARG and are never unused", () => {
    const p = plan("FROM busybox\nRUN true\n", { buildArgs: { HTTP_PROXY: "http://p:3128" } });
    expect((p.stages[0]?.steps[0] as RunStep).buildArgs).toEqual({ HTTP_PROXY: "http://p:3128" });
    expect(p.warnings).toEqual([]);
  });
});

describe("stages and targets", () => {
  const text = [
    "FROM alpine AS base",
    "FROM base AS a",
    "RUN make a",
    "FROM base AS b",
    "RUN make b",
    "FROM golang AS unused",
    "RUN false",
    "FROM scratch",
    "COPY --from=a /a /",
    "COPY --from=b /b /",
    "",
  ].join("\n");

  it("the target needs its stages only, in waves that can run in parallel", () => {
    const p = plan(text);
    expect(p.target).toBe(4);
    expect(p.waves).toEqual([[0], [1, 2], [4]]);
    expect(p.pulls).toEqual(["alpine"]);
    expect(p.stages.map((s) => s.name)).toEqual(["base", "a", "b", "unused", undefined]);
    expect(p.stages[4]?.base).toEqual({ kind: "scratch" });
  });

  it("--target picks a stage by name, case-insensitively", () => {
    const p = plan(text, { target: "B" });
    expect(p.target).toBe(2);
    expect(p.waves).toEqual([[0], [2]]);
    expect(plan(text, { target: "unused" }).pulls).toEqual(["golang"]);
  });

  it("an unknown target", () => {
    expect(error(text, { target: "nope" })).toBe('Dockerfile: target stage "nope" could not be found');
  });
});

describe("unused build args", () => {
  it("a build arg no ARG declares is a warning in docker's words", () => {
    const p = plan("ARG USED\nFROM busybox\nARG ALSO\n", { buildArgs: { USED: "1", ALSO: "2", ZED: "3", NOPE: "4" } });
    expect(p.warnings).toEqual(["[Warning] One or more build-args [NOPE ZED] were not consumed"]);
  });
});

describe("errors name the file, the line and the instruction", () => {
  it("an unknown instruction", () => {
    expect(error("FROM busybox\n\nFROOM x\n")).toBe("Dockerfile:3: unknown instruction: FROOM");
    expect(error("FROOM x\nFROM busybox\n")).toBe("Dockerfile:1: unknown instruction: FROOM");
  });
  it("an instruction before FROM, no FROM, an empty file", () => {
    expect(error("RUN true\nFROM busybox\n")).toBe("Dockerfile:1: RUN: no build stage in current context");
    expect(error("ARG A=1\n")).toBe("Dockerfile: no build stage in current context");
    expect(error("# only a comment\n")).toBe("Dockerfile: file with no instructions");
  });
  it("a stage named twice", () => {
    expect(error("FROM busybox AS x\nFROM alpine AS X\n")).toBe('Dockerfile:2: FROM: duplicate stage name "x", stage names should be unique');
  });
  it("FROM with a bad shape or name", () => {
    expect(error("FROM busybox AS\n")).toBe("Dockerfile:1: FROM: FROM requires either one or three arguments");
    expect(error("FROM busybox AS 1x\n")).toMatch(/^Dockerfile:1: FROM: invalid name for build stage: "1x"/);
    expect(error("FROM $NOPE\n")).toBe("Dockerfile:1: FROM: base name ($NOPE) should not be blank");
  });
  it("a --from naming a stage after it, or its own stage", () => {
    expect(error("FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n")).toBe(
      'Dockerfile:2: COPY: cannot copy from stage "b", it needs to be defined before current stage "a"',
    );
    expect(error("FROM busybox\nRUN --mount=from=b,target=/x true\nFROM busybox AS b\n")).toBe(
      'Dockerfile:2: RUN: cannot mount from stage "b", it needs to be defined before current stage "0"',
    );
    expect(error("FROM later AS a\nFROM busybox AS later\n")).toBe('Dockerfile:1: FROM: cannot build from stage "later", it needs to be defined before current stage "a"');
    expect(error("FROM busybox AS a\nCOPY --from=a /x /x\n")).toBe("Dockerfile:2: COPY: circular dependency detected on stage: a");
    expect(error("FROM busybox\nCOPY --from=1 /x /x\nFROM busybox\n")).toMatch(/^Dockerfile:2: COPY: invalid from flag value 1/);
    expect(error("FROM busybox AS a\nRUN --mount=from=a,target=/x true\n")).toBe("Dockerfile:2: RUN: circular dependency detected on stage: a");
  });
  it("bad flags", () => {
    expect(error("FROM busybox\nCOPY --foo=1 a b\n")).toBe("Dockerfile:2: COPY: unknown flag: foo");
    expect(error("FROM busybox\nCOPY --from=a --from=b a b\n")).toBe("Dockerfile:2: COPY: duplicate flag specified: from");
    expect(error("FROM busybox\nCOPY --link=maybe a b\n")).toBe("Dockerfile:2: COPY: expecting boolean value for flag link, not: maybe");
    expect(error("FROM busybox\nADD --from=x a b\n")).toBe("Dockerfile:2: ADD: unknown flag: from");
    expect(error("FROM --platform busybox\n")).toBe("Dockerfile:1: FROM: missing a value on flag: platform");
    expect(error("FROM busybox\nCOPY --parents a/b /c\n")).toBe("Dockerfile:2: COPY: --parents is not supported by this builder");
    expect(error("FROM busybox\nCOPY --exclude=*.md . /c\n")).toBe("Dockerfile:2: COPY: --exclude is not supported by this builder");
    expect(error("FROM busybox\nCOPY --chmod=abc a /c\n")).toBe("Dockerfile:2: COPY: invalid chmod parameter: abc");
  });
  it("missing arguments and bad values", () => {
    expect(error("FROM busybox\nCOPY onlyone\n")).toMatch(/^Dockerfile:2: COPY: COPY requires at least two arguments/);
    expect(error("FROM busybox\nSHELL /bin/bash -c\n")).toBe("Dockerfile:2: SHELL: SHELL requires the arguments to be in JSON form");
    expect(error("FROM busybox\nEXPOSE http\n")).toBe("Dockerfile:2: EXPOSE: invalid containerPort: http");
    expect(error("FROM busybox\nHEALTHCHECK --interval=5 CMD true\n")).toMatch(/^Dockerfile:2: HEALTHCHECK: --interval: invalid duration "5"/);
    expect(error("FROM busybox\nHEALTHCHECK --retries=-1 CMD true\n")).toBe("Dockerfile:2: HEALTHCHECK: --retries cannot be negative");
    expect(error("FROM busybox\nHEALTHCHECK WGET x\n")).toBe('Dockerfile:2: HEALTHCHECK: Unknown type "WGET" in HEALTHCHECK (try CMD)');
    expect(error("FROM busybox\nONBUILD ONBUILD RUN x\n")).toBe("Dockerfile:2: ONBUILD: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    expect(error("FROM busybox\nONBUILD FROM x\n")).toBe("Dockerfile:2: ONBUILD: FROM isn't allowed as an ONBUILD trigger");
    expect(error("ARG\nFROM busybox\n")).toBe("Dockerfile:1: ARG: ARG requires at least one argument");
    expect(error("FROM busybox\nARG =x\n")).toBe("Dockerfile:2: ARG: ARG names can not be blank");
    expect(error("FROM busybox\nENV A=1 B\n")).toMatch(/^Dockerfile:2: ENV: Syntax error - can't find = in "B"/);
  });
  it("an expansion that fails", () => {
    expect(error("FROM busybox\nWORKDIR ${DIR:?must be set}\n")).toBe("Dockerfile:2: WORKDIR: DIR: must be set");
    expect(error('FROM busybox\nWORKDIR "/unterminated\n')).toMatch(/^Dockerfile:2: WORKDIR: unexpected end of statement while looking for matching double-quote/);
  });
  it("an unterminated heredoc", () => {
    expect(error("FROM busybox\nRUN <<EOF\necho hi\n")).toMatch(/^Dockerfile:2: unterminated heredoc/);
  });
  it("the file name given is the one in messages", () => {
    expect(error("FROOM\n", { file: "app.Dockerfile" })).toBe("app.Dockerfile:1: unknown instruction: FROOM");
  });
});

describe("ONBUILD triggers (docker: run right after the FROM of an image or stage that has them, in the child's context)", () => {
  const withTriggers = (onBuild: string[]): PlanOptions => ({ imageConfig: (ref) => (ref === "parent" ? { env: ["PATH=/bin", "FROM_PARENT=p"], onBuild } : undefined) });

  it("an image's triggers come first, at the FROM's line, expanded with the child's ARGs and the parent's ENV", () => {
    const text = "FROM parent\nARG WHO=child\nRUN echo own\n";
    const s = steps(text, withTriggers(["ARG WHO=trigger", "COPY . /app/", "RUN echo $WHO $FROM_PARENT"]));
    expect(s.map((x) => [x.kind, x.line, x.source])).toEqual([
      ["arg", 1, "ONBUILD ARG WHO=trigger"],
      ["copy", 1, "ONBUILD COPY . /app/"],
      ["run", 1, "ONBUILD RUN echo $WHO $FROM_PARENT"],
      ["arg", 2, "ARG WHO=child"],
      ["run", 3, "RUN echo own"],
    ]);
    expect((s[1] as CopyStep).sources).toEqual(["."]);
    expect((s[2] as RunStep).buildArgs).toEqual({ WHO: "trigger" });
  });

  it("a stage's ONBUILD steps run in the stage built FROM it, not in the stage itself; a trigger may name the child's stages", () => {
    const text = "FROM busybox AS tools\nFROM busybox AS base\nONBUILD COPY --from=tools /bin/sh /sh\nRUN echo base\nFROM base\nRUN echo child\n";
    const p = plan(text);
    expect(p.stages[1]?.steps.map((x) => x.kind)).toEqual(["onbuild", "run"]);
    expect(p.stages[2]?.steps.map((x) => [x.kind, x.line])).toEqual([["copy", 5], ["run", 6]]);
    expect((p.stages[2]?.steps[0] as CopyStep).from).toEqual({ kind: "stage", index: 0 });
    expect(p.stages[2]?.dependsOn).toEqual([0, 1]);
  });

  it("no triggers without an image config (the first planning pass) or when the image has none", () => {
    expect(steps("FROM parent\nRUN true\n").map((x) => x.kind)).toEqual(["run"]);
    expect(steps("FROM parent\nRUN true\n", withTriggers([])).map((x) => x.kind)).toEqual(["run"]);
  });

  it("a bad trigger fails at the FROM that runs it, naming it", () => {
    expect(error("FROM parent\n", withTriggers(["FROBNICATE x"]))).toBe("Dockerfile:1: unknown instruction: FROBNICATE");
    expect(error("FROM parent\n", withTriggers(["FROM x"]))).toBe("Dockerfile:1: ONBUILD: FROM isn't allowed as an ONBUILD trigger");
    expect(error("FROM parent\n", withTriggers(["COPY --nope a b"]))).toBe("Dockerfile:1: COPY: unknown flag: nope");
  });
});
