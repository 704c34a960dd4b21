import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { doneLine, parsePublish, runEnvironment, runVolumes, splitShellWords } from "./run.js";

describe("run's argument parsing", () => {
  it("splits --entrypoint like a shell", () => {
    expect(splitShellWords("sh -c")).toEqual(["sh", "-c"]);
    expect(splitShellWords(`  /bin/sh  -c 'echo "a b"' "x\\"y" z\\ w`)).toEqual(["/bin/sh", "-c", 'echo "a b"', 'x"y', "z w"]);
    expect(splitShellWords("")).toEqual([]);
    expect(splitShellWords("''")).toEqual([""]);
    expect(() => splitShellWords("'open")).toThrow(/unterminated/);
  });

  it("reads -p like docker run", () => {
    expect(parsePublish("80")).toEqual([{ containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: undefined }]);
    expect(parsePublish("127.0.0.1:8080:80/udp")).toEqual([{ containerPort: 80, protocol: "udp", hostPort: "8080", hostIp: "127.0.0.1" }]);
    expect(parsePublish("9000-9001:80-81").map((p) => `${p.hostPort}->${p.containerPort}`)).toEqual(["9000->80", "9001->81"]);
    expect(() => parsePublish("x:80")).toThrow(/invalid port/);
  });

  it("reads --env-from-file as compose's run: -e wins, the file's ${} sees -e's values, -e KEY takes the shell's", () => {
    const dir = mkdtempSync(join(tmpdir(), "tscompose-test-runenv-"));
    try {
      writeFileSync(join(dir, "a.env"), "A=file\nB=${A}-b\nC=c1\n");
      writeFileSync(join(dir, "b.env"), "C=c2\nD=d\n");
      expect(runEnvironment(["A=cli", "S"], ["a.env", "b.env"], { S: "shell" }, dir)).toEqual(["A=cli", "S=shell", "B=cli-b", "C=c1", "D=d"]);
      expect(runEnvironment([], ["a.env"], {}, dir)).toEqual(["A=file", "B=file-b", "C=c1"]);
      expect(() => runEnvironment([], ["none.env"], {}, dir)).toThrow("--env-from-file none.env: no such file");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads -v as the file's short syntax, relative and ~ bind sources made absolute", () => {
    expect(runVolumes(["./d:/x:ro", "~/h:/y", "/abs:/z", "named:/v", "/anon"], "/work/p", "/home/u")).toEqual(["/work/p/d:/x:ro", "/home/u/h:/y", "/abs:/z", "named:/v", "/anon"]);
    expect(() => runVolumes(["v:relative"], "/", "/")).toThrow('run -v: invalid volume specification "v:relative": the mount path must be absolute');
    expect(() => runVolumes(["/a:/b:bogus"], "/", "/")).toThrow('unknown mode "bogus"');
  });

  it("-q hides every step's line, --quiet-build only the builds'", () => {
    const step = (kind: "build" | "start") => ({ type: "action" as const, id: kind, kind, target: "t", name: "p-web-1", status: "done" as const });
    const loud = { all: false, build: false };
    expect(doneLine(step("start"), loud)).toMatch(/^ Container p-web-1\s+Started\n$/);
    expect(doneLine(step("build"), loud)).toMatch(/Built\n$/);
    expect(doneLine(step("build"), { all: false, build: true })).toBeUndefined();
    expect(doneLine(step("start"), { all: false, build: true })).toMatch(/Started/);
    expect(doneLine(step("start"), { all: true, build: true })).toBeUndefined();
    expect(doneLine({ ...step("start"), status: "started" }, loud)).toBeUndefined();
  });
});
