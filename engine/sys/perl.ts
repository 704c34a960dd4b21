// The engine's helper programs written in perl (perl-base is Essential in
// Debian, so always there; Node cannot flock, chroot a child, or fork cheaply).
// Each lives in a .pl file beside the module that runs it, with its protocol
// in its header and in docs/perl-helpers.md. The build copies them into dist/
// beside the compiled modules (scripts/perl-programs.mjs), so the same
// relative lookup works from the sources (tests) and from dist/ (bin/tscompose).
import { fileURLToPath } from "node:url";

/** The path of `file`, a perl program beside the module whose import.meta.url is `moduleUrl`. */
export function perlProgram(file: string, moduleUrl: string): string {
  return fileURLToPath(new URL(file, moduleUrl));
}
