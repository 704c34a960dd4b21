import { describe, expect, it } from "vitest";
import { RegistryError } from "../../engine/content/errors.js";
import { EngineError } from "../../engine/errors.js";
import { ERROR_KINDS } from "../../model/errors.js";
import { StackError } from "../stack/errors.js";
import { DaemonError } from "./client.js";
import { CopyPathError } from "./cp-target.js";
import { errorBody, HttpError, kindOfStatus, STATUS_OF_KIND, statusOf } from "./http.js";

describe("error kinds and HTTP statuses", () => {
  it("answers each kind with its status", () => {
    expect(STATUS_OF_KIND).toEqual({
      "not-found": 404,
      conflict: 409,
      invalid: 400,
      unauthorized: 401,
      forbidden: 403,
      unavailable: 503,
      timeout: 504,
      "no-space": 507,
      internal: 500,
    });
  });

  it("reads each status back as its kind; other 4xx are invalid, other 5xx internal", () => {
    for (const kind of ERROR_KINDS) expect(kindOfStatus(STATUS_OF_KIND[kind])).toBe(kind);
    expect(kindOfStatus(413)).toBe("invalid");
    expect(kindOfStatus(405)).toBe("invalid");
    expect(kindOfStatus(502)).toBe("internal");
  });

  it("answers the status of what was thrown", () => {
    expect(statusOf(new RegistryError("unauthorized", "registry 127.0.0.1:1: unauthorized", { status: 401 }))).toBe(401);
    expect(statusOf(new RegistryError("denied", "denied", { status: 403 }))).toBe(403);
    expect(statusOf(new EngineError("not-found", "no such container: x"))).toBe(404);
    expect(statusOf(new EngineError("conflict", "container x is not running"))).toBe(409);
    expect(statusOf(new StackError("schema", "bad key"))).toBe(400);
    expect(statusOf(new CopyPathError("could not find the file /x", true))).toBe(404);
    expect(statusOf(Object.assign(new Error("ENOENT: x"), { code: "ENOENT" }))).toBe(404);
    expect(statusOf(new Error("a bug"))).toBe(500);
    // An HttpError's own status, even one no kind names.
    expect(statusOf(new HttpError(413, "too large"))).toBe(413);
    expect(new HttpError(413, "too large").kind).toBe("invalid");
  });

  it("sends the message, the class's own code and the kind", () => {
    expect(errorBody(new RegistryError("unauthorized", "no credentials", { status: 401 }))).toEqual({ message: "no credentials", code: "unauthorized", kind: "unauthorized" });
    expect(errorBody(new Error("a bug"))).toEqual({ message: "a bug", kind: "internal" });
    expect(errorBody("text")).toEqual({ message: "text", kind: "internal" });
  });

  it("the client's error takes the kind the daemon sent, else the one its status says", () => {
    expect(new DaemonError("no credentials", 401, "unauthorized", "unauthorized").kind).toBe("unauthorized");
    expect(new DaemonError("x", 500, undefined, "no-space").kind).toBe("no-space");
    expect(new DaemonError("no such container: x", 404).kind).toBe("not-found");
    expect(new DaemonError("x", 500, undefined, "bogus").kind).toBe("internal");
  });
});
