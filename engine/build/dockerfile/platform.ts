// The automatic platform ARGs (BUILDPLATFORM, TARGETPLATFORM, TARGETOS ...)
// BuildKit defines in the global scope. Builds run on this host only, so
// the build and target platforms are both the host's.

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

// Node's process.arch to the OCI architecture names docker uses.
const OCI_ARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
};

export function hostPlatform(): Platform {
  const architecture = OCI_ARCH[process.arch] ?? process.arch;
  return { os: process.platform === "linux" ? "linux" : process.platform, architecture, ...(architecture === "arm" ? { variant: "v7" } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== "").join("/");
}

/** The ARGs BuildKit defines before the first FROM, by name. */
export function platformArgs(build: Platform, target: Platform): Record<string, string> {
  return {
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? "",
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? "",
  };
}
