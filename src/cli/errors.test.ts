import { describe, expect, it } from "vitest";
import { DaemonError } from "../daemon/client.js";
import { CliError, EXIT_CODE_OF_KIND, exitCodeOf } from "./errors.js";

describe("the CLI's exit codes", () => {
  it("exits 1 for every kind of error, as docker and docker compose do", () => {
    expect(EXIT_CODE_OF_KIND).toEqual({
      "not-found": 1,
      conflict: 1,
      invalid: 1,
      unauthorized: 1,
      forbidden: 1,
      unavailable: 1,
      timeout: 1,
      "no-space": 1,
      internal: 1,
    });
    expect(exitCodeOf(new DaemonError("unauthorized", 401))).toBe(1);
    expect(exitCodeOf(new Error("a bug"))).toBe(1);
  });

  it("keeps a CliError's own exit code", () => {
    expect(exitCodeOf(new CliError("interrupted", 130))).toBe(130);
  });

  it("gives a CliError the kind of what it wraps, else invalid (a usage mistake)", () => {
    expect(new CliError("x", undefined, { cause: new DaemonError("no such container", 404) }).kind).toBe("not-found");
    expect(new CliError("x", undefined, { cause: new DaemonError("x", 401) }).kind).toBe("unauthorized");
    expect(new CliError('"exec" requires at least 2 arguments').kind).toBe("invalid");
    expect(new CliError("x", undefined, { kind: "conflict" }).kind).toBe("conflict");
  });
});
