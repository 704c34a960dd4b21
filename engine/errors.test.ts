import { describe, expect, it } from "vitest";
import { RegistryError } from "./content/errors.js";
import { InvalidReferenceError } from "./content/reference.js";
import { ContentError } from "./content/types.js";
import { EngineError, ERROR_KINDS, isErrorKind, kindOf } from "./errors.js";
import { IpBatchError } from "./network/ip-batch.js";
import { SeccompProfileError } from "./runtime/seccomp.js";
import { UnpackError } from "./snapshot/errors.js";
import { SnapshotError } from "./snapshot/types.js";
import { CorruptFileError } from "./sys/atomic-file.js";
import { CommandError, CommandTimeoutError } from "./sys/exec.js";

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: something`), { code });
const result = { stdout: "", stderr: "boom", code: 1 };

describe("kindOf", () => {
  it("reads the kind of every engine error class", () => {
    expect(kindOf(new EngineError("conflict", "x"))).toBe("conflict");
    expect(kindOf(new SeccompProfileError("syscalls[0]", "bad"))).toBe("invalid");
    expect(kindOf(new RegistryError("unauthorized", "x", { status: 401 }))).toBe("unauthorized");
    expect(kindOf(new RegistryError("denied", "x", { status: 403 }))).toBe("forbidden");
    expect(kindOf(new RegistryError("not-found", "x", { status: 404 }))).toBe("not-found");
    expect(kindOf(new RegistryError("platform", "x"))).toBe("not-found");
    expect(kindOf(new RegistryError("unsupported", "x"))).toBe("invalid");
    expect(kindOf(new RegistryError("unavailable", "x", { status: 503 }))).toBe("unavailable");
    expect(kindOf(new RegistryError("truncated", "x"))).toBe("unavailable");
    expect(kindOf(new ContentError("not-found", "x"))).toBe("not-found");
    expect(kindOf(new ContentError("digest-mismatch", "x"))).toBe("invalid");
    expect(kindOf(new SnapshotError("in-use", "x"))).toBe("conflict");
    expect(kindOf(new SnapshotError("unavailable", "x"))).toBe("unavailable");
    expect(kindOf(new UnpackError("breakout", "x"))).toBe("invalid");
    expect(kindOf(new UnpackError("io", "x", { cause: errno("ENOSPC") }))).toBe("no-space");
    expect(kindOf(new UnpackError("io", "x"))).toBe("internal");
    expect(kindOf(new InvalidReferenceError("A:b", "uppercase"))).toBe("invalid");
    expect(kindOf(new CommandError("ip", ["link"], result))).toBe("internal");
    expect(kindOf(new CommandTimeoutError("ip", ["link"], 10, result))).toBe("timeout");
    expect(kindOf(new CorruptFileError("/x.json", "bad"))).toBe("internal");
    expect(kindOf(new IpBatchError([{ lineNo: 1, line: "link del x", message: "gone" }]))).toBe("internal");
  });

  it("gives Node's error codes their kind, and follows causes of errors without one", () => {
    expect(kindOf(errno("ENOENT"))).toBe("not-found");
    expect(kindOf(errno("EEXIST"))).toBe("conflict");
    expect(kindOf(errno("ENOSPC"))).toBe("no-space");
    expect(kindOf(errno("EDQUOT"))).toBe("no-space");
    expect(kindOf(errno("EACCES"))).toBe("forbidden");
    expect(kindOf(errno("ECONNREFUSED"))).toBe("unavailable");
    expect(kindOf(errno("ETIMEDOUT"))).toBe("timeout");
    expect(kindOf(errno("EWHATEVER"))).toBe("internal");
    expect(kindOf(new Error("reading x", { cause: new Error("wrapped", { cause: errno("ENOENT") }) }))).toBe("not-found");
    // An error's own kind wins over its cause's.
    expect(kindOf(new EngineError("conflict", "x", { cause: errno("ENOENT") }))).toBe("conflict");
  });

  it("calls anything else internal", () => {
    expect(kindOf(new Error("plain"))).toBe("internal");
    expect(kindOf("a string")).toBe("internal");
    expect(kindOf(undefined)).toBe("internal");
    expect(kindOf(null)).toBe("internal");
    // A `kind` that is not one of ours (a container's kind, a file's) is not an error kind.
    expect(kindOf(Object.assign(new Error("x"), { kind: "directory" }))).toBe("internal");
  });

  it("knows its kinds", () => {
    expect(ERROR_KINDS).toEqual(["not-found", "conflict", "invalid", "unauthorized", "forbidden", "unavailable", "timeout", "no-space", "internal"]);
    expect(isErrorKind("not-found")).toBe(true);
    expect(isErrorKind("not-running")).toBe(false);
    expect(isErrorKind(404)).toBe(false);
  });

  it("keeps EngineError's former code as the kind and retries only what is unavailable", () => {
    const e = new EngineError("not-found", "no such container: x");
    expect(e.code).toBe("not-found");
    expect(e.retryable).toBe(false);
    expect(new EngineError("unavailable", "later").retryable).toBe(true);
  });
});
