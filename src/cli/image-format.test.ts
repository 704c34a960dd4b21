import { describe, expect, it, test } from "vitest";
import { applyTemplate, formatTemplate } from "./image-format.js";
import { humanDuration, table } from "./format.js";

describe("image command output", () => {
  test("tables are laid out like docker's tabwriter: cells at least 10 wide, 3 spaces of padding", () => {
    expect(table(["REPOSITORY", "TAG", "SIZE"], [["busybox", "latest", "2.13MB"]])).toBe("REPOSITORY   TAG       SIZE\nbusybox      latest    2.13MB\n");
  });

  test("durations read like go-units", () => {
    expect(humanDuration(500)).toBe("Less than a second");
    expect(humanDuration(45_000)).toBe("45 seconds");
    expect(humanDuration(90_000)).toBe("About a minute");
    expect(humanDuration(3 * 3600_000)).toBe("3 hours");
    expect(humanDuration(3 * 86400_000)).toBe("3 days");
    expect(humanDuration(20 * 86400_000)).toBe("2 weeks");
    expect(humanDuration(100 * 86400_000)).toBe("3 months");
    expect(humanDuration(3 * 365 * 86400_000)).toBe("3 years");
  });

  test("templates take fields, nested fields and json", () => {
    const v = { Repository: "busybox", Tag: "latest", Config: { Env: ["A=1"] } };
    expect(applyTemplate("{{.Repository}}:{{.Tag}}", v)).toBe("busybox:latest");
    expect(applyTemplate("{{json .Config.Env}}\\t{{.Missing}}", v)).toBe('["A=1"]\t<no value>');
  });
});

describe("formatTemplate", () => {
  it("is the template of a --format value; none for table and json", () => {
    expect(formatTemplate(undefined)).toBeUndefined();
    expect(formatTemplate("table")).toBeUndefined();
    expect(formatTemplate("json")).toBeUndefined();
    expect(formatTemplate("{{.Name}}")).toBe("{{.Name}}");
    expect(formatTemplate("table {{.Name}}\t{{.ID}}")).toBe("{{.Name}}\t{{.ID}}");
  });
});
