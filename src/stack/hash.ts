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
  const { configHash: _h, replicas: _r, dependsOn: _d, profiles: _p, pullPolicy: _pp, build: _b, xTscompose: _x, supervision: _s, develop: _dv, attach: _at, postStart: _ps, preStop: _pr, labelFiles: _lf, deploy, ...rest } = svc;
  const { replicas: _dr, ...deployRest } = deploy;
  const fileContents: Record<string, string> = {};
  for (const ref of [...svc.secrets.map((s) => ["secret", s.source] as const), ...svc.configs.map((c) => ["config", c.source] as const)]) {
    const obj = ref[0] === "secret" ? stack.secrets[ref[1]] : stack.configs[ref[1]];
    if (obj?.file) fileContents[`${ref[0]}:${ref[1]}`] = digestFile(obj.file);
    else if (obj?.content !== undefined) fileContents[`${ref[0]}:${ref[1]}`] = obj.content;
  }
  const canonical = canonicalJson({ ...rest, deploy: deployRest, fileContents });
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

/** JSON with sorted keys and undefined dropped, so the hash is independent of key order. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}
