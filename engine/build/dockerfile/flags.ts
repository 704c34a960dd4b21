// Instruction flags checked the way BuildKit's BFlags does (unknown flag,
// duplicate, missing value, boolean values), and `RUN --mount` parsed into
// its typed form with BuildKit's defaults.
import { posix } from "node:path";
import type { RawFlag } from "./syntax.js";
import type { MountOf } from "./types.js";

export type FlagKind = "string" | "bool" | "multi";

/** The flags each instruction accepts; every other instruction takes none. */
export const INSTRUCTION_FLAGS: Readonly<Record<string, Readonly<Record<string, FlagKind>>>> = {
  FROM: { platform: "string" },
  RUN: { mount: "multi", network: "string", security: "string" },
  COPY: { from: "string", chown: "string", chmod: "string", link: "bool", parents: "bool", exclude: "multi" },
  ADD: { chown: "string", chmod: "string", link: "bool", checksum: "string", "keep-git-dir": "bool", parents: "bool", exclude: "multi" },
  HEALTHCHECK: { interval: "string", timeout: "string", "start-period": "string", "start-interval": "string", retries: "string" },
};

export class FlagError extends Error {}

export interface CheckedFlags {
  strings: Map<string, string>;
  bools: Map<string, boolean>;
  multi: Map<string, string[]>;
}

export function checkFlags(keyword: string, flags: RawFlag[]): CheckedFlags {
  const allowed = INSTRUCTION_FLAGS[keyword] ?? {};
  const out: CheckedFlags = { strings: new Map(), bools: new Map(), multi: new Map() };
  const seen = new Set<string>();
  for (const flag of flags) {
    const kind = Object.hasOwn(allowed, flag.name) ? allowed[flag.name] : undefined;
    if (kind === undefined) throw new FlagError(`unknown flag: ${flag.name}`);
    if (kind !== "multi" && seen.has(flag.name)) throw new FlagError(`duplicate flag specified: ${flag.name}`);
    seen.add(flag.name);
    if (kind === "bool") {
      const v = (flag.value ?? "true").toLowerCase();
      if (v !== "true" && v !== "false") throw new FlagError(`expecting boolean value for flag ${flag.name}, not: ${flag.value}`);
      out.bools.set(flag.name, v === "true");
      continue;
    }
    if (flag.value === undefined || (kind === "string" && flag.value === "" && flag.name !== "chown" && flag.name !== "chmod")) {
      throw new FlagError(`missing a value on flag: ${flag.name}`);
    }
    if (kind === "multi") out.multi.set(flag.name, [...(out.multi.get(flag.name) ?? []), flag.value]);
    else out.strings.set(flag.name, flag.value);
  }
  return out;
}

/** A `--mount` before the `from=` reference is resolved to a stage or an image. */
export type ParsedMount = MountOf<string>;

const MOUNT_KEYS: Readonly<Record<string, readonly string[]>> = {
  bind: ["type", "target", "source", "from", "readonly", "readwrite"],
  cache: ["type", "target", "source", "from", "readonly", "readwrite", "id", "sharing", "mode", "uid", "gid"],
  tmpfs: ["type", "target", "size"],
  secret: ["type", "target", "id", "env", "required", "mode", "uid", "gid"],
};

const KEY_ALIASES: Readonly<Record<string, string>> = {
  dst: "target",
  destination: "target",
  src: "source",
  ro: "readonly",
  rw: "readwrite",
};

/** Parses one `--mount=` value (already expanded): comma-separated `key=value` fields, BuildKit's keys and defaults. */
export function parseMount(value: string): ParsedMount {
  const fields = new Map<string, string>();
  for (const field of splitCsv(value)) {
    const eq = field.indexOf("=");
    const rawKey = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const key = KEY_ALIASES[rawKey] ?? rawKey;
    const v = eq < 0 ? undefined : field.slice(eq + 1);
    if (v === undefined && key !== "readonly" && key !== "readwrite" && key !== "required") {
      throw new FlagError(`--mount: "${field}" is not key=value`);
    }
    fields.set(key, v ?? "true");
  }
  const type = fields.get("type") ?? "bind";
  if (type === "ssh") throw new FlagError("--mount: type=ssh is not supported by this builder");
  const keys = MOUNT_KEYS[type];
  if (keys === undefined) throw new FlagError(`--mount: unsupported mount type "${type}" (bind, cache, tmpfs or secret)`);
  for (const key of fields.keys()) {
    if (!keys.includes(key)) throw new FlagError(`--mount: unexpected key '${key}' for type=${type}`);
  }
  const target = fields.get("target");
  const bool = (key: string, dflt: boolean): boolean => {
    const v = fields.get(key);
    if (v === undefined) return dflt;
    if (!/^(true|false|1|0)$/i.test(v)) throw new FlagError(`--mount: invalid value for ${key}: ${v}`);
    return /^(true|1)$/i.test(v);
  };
  const int = (key: string, dflt: number, radix = 10): number => {
    const v = fields.get(key);
    if (v === undefined) return dflt;
    const n = radix === 8 ? (/^[0-7]+$/.test(v) ? parseInt(v, 8) : NaN) : /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw new FlagError(`--mount: invalid value for ${key}: ${v}`);
    return n;
  };
  const readonly = (dflt: boolean): boolean => {
    if (fields.has("readonly") && fields.has("readwrite")) throw new FlagError("--mount: readonly and readwrite exclude each other");
    return fields.has("readwrite") ? !bool("readwrite", true) : bool("readonly", dflt);
  };
  const needTarget = (): string => {
    if (target === undefined || target === "") throw new FlagError(`--mount: type=${type} requires a target`);
    return target;
  };
  switch (type) {
    case "bind": {
      const from = fields.get("from");
      return { type, target: needTarget(), source: fields.get("source") ?? "/", ...(from === undefined ? {} : { from }), readonly: readonly(true) };
    }
    case "cache": {
      const t = needTarget();
      const sharing = fields.get("sharing") ?? "shared";
      if (sharing !== "shared" && sharing !== "private" && sharing !== "locked") {
        throw new FlagError(`--mount: unsupported sharing value "${sharing}" (shared, private or locked)`);
      }
      const from = fields.get("from");
      return {
        type,
        target: t,
        id: fields.get("id") || t,
        sharing,
        source: fields.get("source") ?? "/",
        ...(from === undefined ? {} : { from }),
        readonly: readonly(false),
        mode: int("mode", 0o755, 8),
        uid: int("uid", 0),
        gid: int("gid", 0),
      };
    }
    case "tmpfs": {
      const size = fields.get("size");
      return { type, target: needTarget(), ...(size === undefined ? {} : { size: parseBytes(size) }) };
    }
    default: {
      const env = fields.get("env");
      let id = fields.get("id");
      if (id === undefined || id === "") {
        if (target === undefined || target === "") {
          if (env === undefined) throw new FlagError("--mount: type=secret needs an id or a target");
          id = env;
        } else id = posix.basename(target);
      }
      const secretTarget = target ?? (env === undefined ? `/run/secrets/${id}` : undefined);
      return {
        type: "secret",
        id,
        ...(secretTarget === undefined ? {} : { target: secretTarget }),
        ...(env === undefined ? {} : { env }),
        required: bool("required", false),
        mode: int("mode", 0o400, 8),
        uid: int("uid", 0),
        gid: int("gid", 0),
      };
    }
  }
}

/** Splits on commas outside double quotes; quotes around a field are removed (Go's csv reader, as BuildKit uses). */
function splitCsv(value: string): string[] {
  const out: string[] = [];
  let field = "";
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      out.push(field);
      field = "";
    } else field += ch;
  }
  if (quoted) throw new FlagError(`--mount: unterminated quote in "${value}"`);
  out.push(field);
  return out.filter((f) => f !== "");
}

/** `64m`, `1g`, `1024`: docker's RAMInBytes units (binary multiples). */
function parseBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v.trim());
  if (!m) throw new FlagError(`--mount: invalid size: ${v}`);
  const power = " kmgtp".indexOf((m[2] || " ").toLowerCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}
