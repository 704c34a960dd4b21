import { describe, expect, it } from "vitest";
import { parsePublish, splitShellWords } from "./run.js";

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
});
