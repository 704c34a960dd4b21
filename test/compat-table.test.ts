// docs/compat.md must say, for every key the compose-spec defines, what
// tscompose does with it: this walks the upstream schema (schema/upstream,
// reference data) and fails on a key path without a row, a row with an unknown
// status, or a row naming a test file that does not exist; and a supported
// key whose named test files never write it.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const upstream = JSON.parse(readFileSync(resolve(root, "schema/upstream/compose-spec.json"), "utf8")) as Schema;
const doc = readFileSync(resolve(root, "docs/compat.md"), "utf8");

type Schema = { [k: string]: unknown };
const isSchema = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

function resolveRef(node: unknown): unknown {
  let n = node;
  while (isSchema(n) && typeof n.$ref === "string") {
    let target: unknown = upstream;
    for (const seg of n.$ref.replace(/^#\//, "").split("/")) target = isSchema(target) ? target[seg] : undefined;
    n = target;
  }
  return n;
}

/**
 * The properties a value may have, across oneOf/anyOf/allOf branches, list items
 * and user-chosen names (patternProperties other than x-*, additionalProperties):
 * `services.web.ports[0].target` is the key path `services.ports.target`.
 */
function properties(node: unknown): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  const add = (from: Map<string, unknown[]>): void => {
    for (const [k, v] of from) out.set(k, [...(out.get(k) ?? []), ...v]);
  };
  const n = resolveRef(node);
  if (!isSchema(n)) return out;
  if (isSchema(n.properties)) for (const [k, v] of Object.entries(n.properties)) add(new Map([[k, [v]]]));
  for (const comb of ["oneOf", "anyOf", "allOf"]) if (Array.isArray(n[comb])) for (const b of n[comb] as unknown[]) add(properties(b));
  if (isSchema(n.items)) add(properties(n.items));
  if (isSchema(n.patternProperties)) {
    for (const [pattern, v] of Object.entries(n.patternProperties)) if (!pattern.startsWith("^x-")) add(properties(v));
  }
  if (isSchema(n.additionalProperties)) add(properties(n.additionalProperties));
  return out;
}

function keyPaths(nodes: unknown[], prefix: string[] = [], out: string[] = []): string[] {
  const props = new Map<string, unknown[]>();
  for (const n of nodes) for (const [k, v] of properties(n)) props.set(k, [...(props.get(k) ?? []), ...v]);
  for (const [k, v] of [...props].sort(([a], [b]) => a.localeCompare(b))) {
    const path = [...prefix, k];
    out.push(path.join("."));
    keyPaths(v, path, out);
  }
  return out;
}

interface Row {
  key: string;
  status: string;
  test: string;
}

/** The rows of the key tables: the full one and the areas' `## Service keys (AREA)` ones. */
function rows(): Row[] {
  const out: Row[] = [];
  let inKeyTable = false;
  for (const line of doc.split("\n")) {
    if (line.startsWith("## ")) inKeyTable = line === "## Every compose-spec key" || line.startsWith("## Service keys (");
    if (!inKeyTable || !line.startsWith("| ") || line.startsWith("| ---") || line.startsWith("| key ")) continue;
    const cells = line.slice(2, -2).split(" | ").map((c) => c.trim());
    out.push({ key: cells[0] ?? "", status: cells[1] ?? "", test: cells[2] ?? "" });
  }
  return out;
}

/**
 * The files a row's test cell names: each `; `-separated reference starts with
 * one (`FILE > test name`); a later part may be a file too (the stack file of
 * a conformance run: `test/runtime-conformance.test.ts > test/stacks/conformance/x.yml`).
 */
function testFiles(cell: string): string[] {
  return cell
    .replace(/`/g, "")
    .split("; ")
    .flatMap((ref) => {
      const [first = "", ...rest] = ref.split(" > ").map((p) => p.trim());
      return [first, ...rest.filter((p) => /^[\w./-]+\.(ts|ya?ml)$/.test(p))];
    });
}

const STATUSES = new Set(["supported", "partial", "error at up", "error", "config only"]);

describe("docs/compat.md covers the compose-spec", () => {
  const table = rows();
  const keys = keyPaths([upstream]);

  it("walks a real schema", () => {
    // Sanity of the walk itself: well-known keys at each depth are found.
    for (const k of ["services", "services.image", "services.build.context", "services.deploy.resources.limits.memory", "services.volumes.bind.propagation", "networks.ipam.config.subnet", "models.model"]) {
      expect(keys).toContain(k);
    }
  });

  it("every key path of the upstream schema has a row", () => {
    const covered = new Set(table.map((r) => r.key.replace(/`/g, "")));
    expect(keys.filter((k) => !covered.has(k))).toEqual([]);
  });

  it("a supported key is written in a test file its row names, as compose writes it or as the model spells it", () => {
    const unexercised = table.filter((r) => r.status === "supported").flatMap((r) => {
      const leaf = r.key.replace(/`/g, "").split(".").pop() ?? "";
      const camel = leaf.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
      // As a key (`cap_add:` in YAML, `capAdd:` in a spec), not a word in prose.
      const asKey = new RegExp(`\\b(${leaf}|${camel})"?\\s*:`, "i");
      const named = testFiles(r.test).filter((f) => existsSync(resolve(root, f)));
      return named.some((f) => asKey.test(readFileSync(resolve(root, f), "utf8"))) ? [] : [`${r.key}: ${named.join(", ")}`];
    });
    expect(unexercised).toEqual([]);
  });

  it("every row has a known status and names a test file that exists", () => {
    const bad = table.filter((r) => !STATUSES.has(r.status) || !existsSync(resolve(root, testFiles(r.test)[0] ?? "")));
    expect(bad).toEqual([]);
  });
});
