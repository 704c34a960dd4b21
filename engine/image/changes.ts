// The -c/--change instructions of docker commit and docker import: a few
// Dockerfile instructions applied to an image's config. One parser for both
// commands (and for the builder's config-only steps).
import { EngineError } from "../types.js";

/** A Dockerfile argument list: JSON array, or shell form wrapped in /bin/sh -c. */
function command(arg: string): string[] {
  if (arg.trim().startsWith("[")) {
    const parsed: unknown = JSON.parse(arg);
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parsed;
  }
  return ["/bin/sh", "-c", arg];
}

/** KEY=VALUE pairs (quotes allowed), or the legacy "KEY VALUE" form. */
function pairs(arg: string): [string, string][] {
  if (!arg.includes("=")) {
    const [k, ...v] = arg.trim().split(/\s+/);
    return k ? [[k, v.join(" ")]] : [];
  }
  const out: [string, string][] = [];
  for (const m of arg.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const raw = m[2] ?? "";
    out.push([m[1] ?? "", raw.startsWith('"') ? (JSON.parse(raw) as string) : raw.replace(/^'|'$/g, "")]);
  }
  return out;
}

/** The instructions docker commit and docker import accept in -c/--change (moby's validCommitCommands, less HEALTHCHECK). */
export const CHANGE_INSTRUCTIONS = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL"] as const;

/**
 * Applies -c/--change instructions to an image's container config (the
 * Docker form: Cmd, Env, ...), in order, as a Dockerfile would. `verb` names
 * the command in errors.
 */
export function applyChanges(config: Record<string, unknown>, changes: readonly string[], verb: "commit" | "import"): void {
  for (const change of changes) {
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(change);
    if (!m) throw new EngineError("invalid", `invalid change ${JSON.stringify(change)}: expected "INSTRUCTION arguments"`);
    const [, word = "", arg = ""] = m;
    switch (word.toUpperCase()) {
      case "CMD":
        config.Cmd = command(arg);
        break;
      case "ENTRYPOINT":
        config.Entrypoint = command(arg);
        break;
      case "ENV": {
        const env = (config.Env as string[] | undefined) ?? [];
        for (const [k, v] of pairs(arg)) {
          const i = env.findIndex((e) => e.split("=")[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        config.Env = env;
        break;
      }
      case "LABEL":
        config.Labels = { ...((config.Labels) ?? {}), ...Object.fromEntries(pairs(arg)) };
        break;
      case "EXPOSE":
        config.ExposedPorts = { ...((config.ExposedPorts) ?? {}), ...Object.fromEntries(arg.trim().split(/\s+/).map((p) => [p.includes("/") ? p : `${p}/tcp`, {}])) };
        break;
      case "VOLUME":
        config.Volumes = { ...((config.Volumes) ?? {}), ...Object.fromEntries(command(arg)[0] === "/bin/sh" ? arg.trim().split(/\s+/).map((v) => [v, {}]) : command(arg).map((v) => [v, {}])) };
        break;
      case "USER":
        config.User = arg.trim();
        break;
      case "WORKDIR":
        config.WorkingDir = arg.trim();
        break;
      case "STOPSIGNAL":
        config.StopSignal = arg.trim();
        break;
      case "ONBUILD": {
        const trigger = arg.trim();
        const first = /^\w+/.exec(trigger)?.[0]?.toUpperCase();
        // Dockerfile's own rules for a trigger.
        if (first === "ONBUILD" || first === "FROM" || first === "MAINTAINER") throw new EngineError("invalid", `invalid change ${JSON.stringify(change)}: ${first} is not allowed as an ONBUILD trigger`);
        config.OnBuild = [...((config.OnBuild as string[] | null | undefined) ?? []), trigger];
        break;
      }
      default:
        throw new EngineError("invalid", `${word} is not supported by ${verb}; use one of ${CHANGE_INSTRUCTIONS.join(", ")}`);
    }
  }
}

