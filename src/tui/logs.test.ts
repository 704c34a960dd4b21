import { describe, expect, it } from "vitest";
import { compactDiff, diffLines } from "./diff.js";
import { LogBuffer, cleanLine, nextMatch, renderLogLine } from "./logs.js";
import { colorWanted } from "./main.js";

const line = (time: number, text: string, source = "web-1") => ({ time, source, service: "web", stream: "stdout" as const, text });

describe("LogBuffer", () => {
  it("keeps lines in time order when several containers' tails interleave, bounded", () => {
    const b = new LogBuffer(3);
    b.push(line(10, "a"));
    b.push(line(30, "c"));
    b.push(line(20, "b", "db-1"));
    b.push(line(40, "d"));
    expect(b.lines.map((l) => l.text)).toEqual(["b", "c", "d"]);
    expect(b.dropped).toBe(1);
  });

  it("searches case-insensitively and steps through matches both ways, wrapping", () => {
    const b = new LogBuffer();
    ["GET / 200", "error: boom", "GET /x 404", "Error again"].forEach((t, i) => b.push(line(i, t)));
    const m = b.search("error");
    expect(m).toEqual([1, 3]);
    expect(nextMatch(m, 1, true)).toBe(3);
    expect(nextMatch(m, 3, true)).toBe(1);
    expect(nextMatch(m, 4, false)).toBe(3);
    expect(nextMatch(m, 1, false)).toBe(3);
    expect(nextMatch([], 0, true)).toBeUndefined();
  });

  it("strips a container's own escape sequences and makes tag braces literal", () => {
    expect(cleanLine("\x1b[31mred\x1b[0m\tx")).toBe("red    x");
    const out = renderLogLine(line(0, "{json} error here"), { color: false }, { prefix: true, prefixWidth: 6, query: "error", current: false });
    expect(out).toBe("web-1  | {open}json{close} {inverse}error{/inverse} here");
  });
});

describe("diffLines", () => {
  it("shows what a pending change would do to a service's config", () => {
    const before = ["image: busybox:1", "command:", "  - sleep", "ports: []"];
    const after = ["image: busybox:2", "command:", "  - sleep", "ports:", "  - 80:80"];
    const d = diffLines(before, after);
    expect(d.filter((x) => x.op !== " ")).toEqual([
      { op: "-", text: "image: busybox:1" },
      { op: "+", text: "image: busybox:2" },
      { op: "-", text: "ports: []" },
      { op: "+", text: "ports:" },
      { op: "+", text: "  - 80:80" },
    ]);
    const long = [...Array(20).keys()].map(String);
    const changed = [...long];
    changed[10] = "ten";
    expect(compactDiff(diffLines(long, changed), 1).map((x) => `${x.op}${x.text}`)).toEqual([" 9", "-10", "+ten", " 11"]);
  });
});

describe("colorWanted", () => {
  it("respects NO_COLOR when set and not empty, and --no-color", () => {
    expect(colorWanted({}, {})).toBe(true);
    expect(colorWanted({}, { NO_COLOR: "1" })).toBe(false);
    expect(colorWanted({}, { NO_COLOR: "" })).toBe(true);
    expect(colorWanted({ color: false }, {})).toBe(false);
  });
});
