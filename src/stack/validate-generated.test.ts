import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import composeSchema from "../../schema/compose-spec.json" with { type: "json" };
import { schemaFormats } from "./validate-formats.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

function formatsUsed(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) formatsUsed(item, out);
  } else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "format" && typeof value === "string") out.add(value);
      else formatsUsed(value, out);
    }
  }
  return out;
}

describe("generated schema validator", () => {
  // generated/compose-schema.ts is committed; a schema edit without
  // `npm run generate:schema` must not go unnoticed.
  it("is up to date with schema/compose-spec.json", () => {
    expect(() =>
      execFileSync(process.execPath, ["scripts/build-schema.mjs", "--check"], { cwd: root, stdio: "pipe" }),
    ).not.toThrow();
  });

  // The generated code calls schemaFormats[name].validate for each format the schema names.
  it("has a checker for every format the schema uses", () => {
    for (const name of formatsUsed(composeSchema)) {
      expect(typeof schemaFormats[name]?.validate, name).toBe("function");
    }
  });
});
