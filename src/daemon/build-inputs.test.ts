import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildSpec } from "../../model/stack.js";
import { buildInputsDigest } from "./build-inputs.js";

const dir = mkdtempSync(join(tmpdir(), "tscompose-test-buildinputs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the build inputs in the config hash", () => {
  it("a Dockerfile, context, arg or target edit changes the digest; an edit of a .dockerignored file does not", async () => {
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "Dockerfile"), "FROM busybox\nCOPY . /app\n");
    writeFileSync(join(dir, ".dockerignore"), "*.log\n");
    writeFileSync(join(dir, "src/main.c"), "int main;\n");
    writeFileSync(join(dir, "debug.log"), "1\n");
    const b: BuildSpec = { context: dir, dockerfile: undefined, args: { A: "1" }, target: undefined };
    const base = await buildInputsDigest(b);
    expect(await buildInputsDigest(b)).toBe(base);
    writeFileSync(join(dir, "debug.log"), "2\n");
    expect(await buildInputsDigest(b)).toBe(base);
    expect(await buildInputsDigest({ ...b, args: { A: "2" } })).not.toBe(base);
    expect(await buildInputsDigest({ ...b, target: "dev" })).not.toBe(base);
    writeFileSync(join(dir, "src/main.c"), "int main2;\n");
    const edited = await buildInputsDigest(b);
    expect(edited).not.toBe(base);
    writeFileSync(join(dir, "Dockerfile"), "FROM busybox\nCOPY . /srv\n");
    expect(await buildInputsDigest(b)).not.toBe(edited);
    // A missing context hashes (the build reports it) rather than failing the load.
    expect(await buildInputsDigest({ ...b, context: join(dir, "absent") })).toMatch(/^[0-9a-f]{64}$/);
  });
});
