// The config hash of a service: changes exactly when its container must be
// recreated. Like compose, it leaves out what does not touch the container
// (replicas, depends_on, profiles, pull policy, build instructions, attach,
// post_start/pre_stop hooks), and our
// daemon-side settings (x-tscompose, develop), which the daemon applies live. Beyond
// compose, it covers the *contents* of env_files (already folded into the
// environment) and of file-based configs and secrets, because an edit there
// changes what the container sees while compose would keep the old container.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ServiceSpec, StackSpec } from "../../model/stack.js";

export function serviceConfigHash(svc: ServiceSpec, stack: Pick<StackSpec, "secrets" | "configs">): string {
  // attach, hooks and label_file paths (their labels are in `labels`) change what compose does around the container, not the container.
  const { configHash: _h, replicas: _r, dependsOn: _d, profiles: _p, pullPolicy: _pp, build: _b, xTscompose: _x, supervision: _s, develop: _dv, attach: _at, postStart: _ps, preStop: _pr, labelFiles: _lf, deploy, unsupported, ...rest } = svc;
  const { replicas: _dr, ...deployRest } = deploy;
  const fileContents: Record<string, string> = {};
  for (const ref of [...svc.secrets.map((s) => ["secret", s.source] as const), ...svc.configs.map((c) => ["config", c.source] as const)]) {
    const obj = ref[0] === "secret" ? stack.secrets[ref[1]] : stack.configs[ref[1]];
    if (obj?.file) fileContents[`${ref[0]}:${ref[1]}`] = digestFile(obj.file);
    else if (obj?.content !== undefined) fileContents[`${ref[0]}:${ref[1]}`] = obj.content;
    else if (obj?.environmentValue !== undefined) fileContents[`${ref[0]}:${ref[1]}`] = obj.environmentValue;
  }
  // Keys carried as written count by what they say, not by where they were written;
  // build and develop keys among them are left out as build and develop are.
  const written = unsupported.filter((u) => u.path[0] !== "build" && u.path[0] !== "develop").map((u) => ({ path: u.path, value: u.value }));
  const canonical = canonicalJson({ ...rest, deploy: deployRest, fileContents, ...(written.length > 0 ? { unsupported: written } : {}) });
  return createHash("sha256").update(canonical).digest("hex");
}

function digestFile(path: string): string {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch {
    // A missing file is reported by the consistency stage or at container start; here it simply hashes as absent.
    return "missing";
  }
}

/**
 * JSON with sorted keys, so the hash is independent of key order. Fields that
 * are undefined, an empty list or an empty mapping are left out: a field the
 * model gains (a newly supported key, unset in every existing stack) then
 * leaves every existing service's hash as it was, and an upgrade of tscompose
 * recreates no container by itself.
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => !isEmpty(v))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  return v !== null && typeof v === "object" && Object.keys(v).length === 0;
}
