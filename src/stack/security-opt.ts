// security_opt of a service, as Docker reads `--security-opt`: KEY=VALUE, or
// the older KEY:VALUE, or a bare `no-new-privileges`. tscompose applies what
// Docker applies on a host without SELinux and AppArmor (seccomp and
// no_new_privs); label=disable and apparmor=unconfined are accepted because
// they already hold (tscompose sets no SELinux label and no AppArmor profile).
// Anything else is an error naming the option: nothing is silently ignored.
import { SeccompProfileError, parseSeccompProfile } from "../../engine/runtime/seccomp.js";
import type { PathSegment } from "./parse.js";

export interface SecurityOpts {
  /** undefined: Docker's default profile; "unconfined"; or a profile's JSON text (checked). */
  seccompProfile: string | undefined;
  noNewPrivileges: boolean;
}

export const SUPPORTED_SECURITY_OPTS = "no-new-privileges[:true|false], seccomp=unconfined, seccomp=PROFILE.json, label=disable, apparmor=unconfined";

/**
 * Parses the list; `readFile` reads a seccomp profile (its path already made
 * absolute by the loader), `fail` reports at a key path. Later options win,
 * as merged files append theirs after the base file's.
 */
export function normalizeSecurityOpt(
  v: unknown,
  path: readonly PathSegment[],
  readFile: (file: string) => string,
  fail: (path: readonly PathSegment[], message: string) => never,
): SecurityOpts {
  const out: SecurityOpts = { seccompProfile: undefined, noNewPrivileges: false };
  const opts = Array.isArray(v) ? v.map(String) : [];
  for (const [i, opt] of opts.entries()) {
    const at = [...path, i];
    const m = /^([^=:]+)(?:[=:](.*))?$/s.exec(opt);
    const key = m?.[1] ?? opt;
    const value = m?.[2];
    switch (key) {
      case "no-new-privileges":
        if (value === undefined || value === "true") out.noNewPrivileges = true;
        else if (value === "false") out.noNewPrivileges = false;
        else fail(at, `invalid no-new-privileges value "${value}": must be true or false`);
        break;
      case "seccomp":
        if (!value) fail(at, `"${opt}": seccomp needs "unconfined" or a profile file`);
        else if (value === "unconfined") out.seccompProfile = "unconfined";
        // moby's name for its built-in default profile
        else if (value === "builtin") out.seccompProfile = undefined;
        else out.seccompProfile = checkedProfile(value, at, readFile, fail);
        break;
      case "label":
        if (value !== "disable") fail(at, `unsupported security option "${opt}": tscompose applies no SELinux labels; only label=disable (already the case) is accepted`);
        break;
      case "apparmor":
        if (value !== "unconfined") fail(at, `unsupported security option "${opt}": tscompose applies no AppArmor profiles; only apparmor=unconfined (already the case) is accepted`);
        break;
      default:
        fail(at, `unsupported security option "${opt}": tscompose supports ${SUPPORTED_SECURITY_OPTS}`);
    }
  }
  return out;
}

function checkedProfile(file: string, at: PathSegment[], readFile: (file: string) => string, fail: (path: readonly PathSegment[], message: string) => never): string {
  let text: string;
  try {
    text = readFile(file);
  } catch (e) {
    return fail(at, (e as Error).message);
  }
  try {
    parseSeccompProfile(text);
  } catch (e) {
    if (e instanceof SeccompProfileError) return fail(at, `seccomp profile ${file}: ${e.message}`);
    throw e;
  }
  return text;
}
