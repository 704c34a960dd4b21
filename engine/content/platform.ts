// Platforms ("os/arch[/variant]") and choosing one manifest out of an index,
// following containerd's platforms package where it matters in practice:
// architecture aliases are normalized (x86_64 -> amd64, aarch64 -> arm64),
// arm64 without a variant means v8, and arm without one means v7.
import type { Descriptor, Platform } from "./types.js";

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: "amd64" },
  "x86-64": { architecture: "amd64" },
  aarch64: { architecture: "arm64" },
  armhf: { architecture: "arm", variant: "v7" },
  armel: { architecture: "arm", variant: "v6" },
  i686: { architecture: "386" },
  i386: { architecture: "386" },
};

const NODE_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** Lowercases, resolves aliases and fills the default variant of arm and arm64. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    variant = variant ?? alias.variant;
  }
  if (architecture === "arm64" && (variant === undefined || variant === "8")) variant = "v8";
  if (architecture === "arm" && variant === undefined) variant = "v7";
  if (architecture === "arm" && /^[5-8]$/.test(variant ?? "")) variant = `v${variant}`;
  const out: Platform = { ...p, os, architecture };
  if (variant) out.variant = variant;
  else delete out.variant;
  return out;
}

/** Parses "linux/amd64", "linux/arm64/v8" or "linux/arm/v7" (Docker's --platform). */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new Error(`invalid platform ${JSON.stringify(text)}: expected os/arch or os/arch/variant, e.g. linux/amd64`);
  }
  const [os = "", architecture = "", variant] = parts;
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** The platform of this machine, the default for pulls as in Docker. */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  return normalizePlatform({ os: process.platform === "win32" ? "windows" : process.platform, architecture });
}

/** Whether an index entry's platform satisfies the wanted one (after normalization of both). */
export function platformMatches(want: Platform, have: Platform): boolean {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  // An entry without a variant serves any variant (amd64 has none; arm entries usually do).
  return w.variant === undefined || h.variant === undefined || w.variant === h.variant;
}

/**
 * Picks the manifest for `want` from an index's descriptors: the first exact
 * variant match, else the first compatible entry. Entries without a platform
 * or with os "unknown" (buildx attestations) are never picked.
 */
export function selectPlatform(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => m.platform && m.platform.os !== "unknown" && platformMatches(want, m.platform));
  const w = normalizePlatform(want);
  return candidates.find((m) => m.platform && normalizePlatform(m.platform).variant === w.variant) ?? candidates[0];
}
