import { describe, expect, it } from "vitest";
import { engineError, withEngineErrors } from "./boundary.js";
import { RegistryError } from "./content/errors.js";
import { EngineError } from "./errors.js";

const errno = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe("the engine's error boundary", () => {
  it("passes our own errors unchanged, whatever their class", () => {
    const registry = new RegistryError("unauthorized", "registry 127.0.0.1:5000: unauthorized", { status: 401 });
    expect(engineError(registry, "/s")).toBe(registry);
    const engine = new EngineError("not-found", "no such container: x");
    expect(engineError(engine, "/s")).toBe(engine);
  });

  it("gives an error without a kind the kind of its code, keeping its message and itself as the cause", () => {
    const enoent = errno("ENOENT", "ENOENT: no such file or directory, open '/s/x'");
    const mapped = engineError(enoent, "/s");
    expect(mapped).toBeInstanceOf(EngineError);
    expect(mapped).toMatchObject({ kind: "not-found", message: "ENOENT: no such file or directory, open '/s/x'", cause: enoent });
    expect(engineError(new Error("a library's failure"), "/s")).toMatchObject({ kind: "internal", message: "a library's failure" });
    expect(engineError("thrown text", "/s")).toMatchObject({ kind: "internal", message: "thrown text" });
  });

  it("says a full state dir is full", () => {
    const mapped = engineError(errno("ENOSPC", "ENOSPC: no space left on device, write"), "/s");
    expect(mapped).toMatchObject({ kind: "no-space" });
    expect((mapped as Error).message).toMatch(/^no space left on device for the state dir \/s: free space/);
  });

  it("maps the rejections of every async method of a wrapped object, and nothing else", async () => {
    const engine = withEngineErrors(
      {
        kind: "fake",
        pull(): Promise<void> {
          return Promise.reject(errno("ENOSPC", "ENOSPC: no space left on device, write"));
        },
        inspect(): Promise<string> {
          return Promise.reject(errno("ENOENT", "ENOENT: gone"));
        },
        name(): string {
          return this.kind;
        },
      },
      "/s",
    );
    await expect(engine.pull()).rejects.toThrow(/^no space left on device for the state dir \/s: free space/);
    await expect(engine.inspect()).rejects.toMatchObject({ kind: "not-found", message: "ENOENT: gone" });
    expect(engine.name()).toBe("fake");
  });

  it("maps the failure of an async iterable a method returns (logs), after what it yielded, and leaves streams alone", async () => {
    const { Readable } = await import("node:stream");
    const stream = Readable.from(["x"]);
    const engine = withEngineErrors(
      {
        async *logs(): AsyncGenerator<string> {
          yield "first";
          await Promise.resolve();
          throw errno("ENOENT", "ENOENT: log file gone");
        },
        stream: () => stream,
      },
      "/s",
    );
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const line of engine.logs()) seen.push(line);
    })().catch((err: unknown) => err);
    expect(seen).toEqual(["first"]);
    expect(failure).toBeInstanceOf(EngineError);
    expect(failure).toMatchObject({ kind: "not-found", message: "ENOENT: log file gone" });
    expect(engine.stream()).toBe(stream);
  });
});
