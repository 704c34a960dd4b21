// Whether `up` pulls a service's image, from its pull_policy, as compose
// decides it (compose's mustPull): always / never; missing and if_not_present
// when the image is absent; refresh, daily, weekly and every_<duration> also
// when the local copy was pulled longer ago than that (refresh: any time ago).
// A pull time comes from the engine's image store (the reference's last pull,
// or when the image was added locally); the CLI's --pull overrides all.
import type { PullPolicy } from "../model/stack.js";

const UNIT_MS: Record<string, number> = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** The age past which a refresh-type policy pulls again; undefined for the other policies. */
export function refreshAfterMs(policy: PullPolicy): number | undefined {
  if (policy === "refresh") return 0;
  if (policy === "daily") return UNIT_MS.d;
  if (policy === "weekly") return UNIT_MS.w;
  if (!policy.startsWith("every_")) return undefined;
  // The schema let only ([0-9]+[wdhms])+ through.
  let total = 0;
  for (const m of policy.slice(6).matchAll(/([0-9]+)([wdhms])/g)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return total;
}

export function mustPull(
  policy: PullPolicy | "always" | "missing" | "never",
  image: { present: boolean; pulledAtMs: number | undefined },
  nowMs: number,
): boolean {
  if (policy === "always") return true;
  // build: the image comes from a build, never from a registry.
  if (policy === "never" || policy === "build") return false;
  if (!image.present) return true;
  const after = refreshAfterMs(policy);
  if (after === undefined) return false;
  // An image with no known pull time is as old as can be: refresh it.
  return image.pulledAtMs === undefined || nowMs >= image.pulledAtMs + after;
}
