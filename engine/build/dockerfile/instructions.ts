// One instruction inside a stage -> one Step, with BuildKit's expansion
// rules: RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are left to the
// shell (or kept as text); COPY, ADD, ENV, ARG, WORKDIR, USER, LABEL, EXPOSE,
// VOLUME and STOPSIGNAL are expanded against the stage's ENV and ARGs, ENV
// winning over an ARG of the same name.
import { parseDuration } from "../../../model/duration.js";
import { checkFlags, FlagError, parseMount, type CheckedFlags } from "./flags.js";
import { expandWord, type Lookup } from "./shell-lex.js";
import { shellWords, type RawInstruction } from "./syntax.js";
import type { Command, CopyStep, HeredocFile, ImageSource, Mount, Step } from "./types.js";

export interface StageState {
  env: Map<string, string>;
  /** ARGs declared in the stage; undefined when declared without a value and not given. */
  args: Map<string, string | undefined>;
  shell: string[];
}

export interface TranslateContext {
  escape: string;
  buildArgs: Record<string, string>;
  globals: Map<string, string | undefined>;
  automatic: Record<string, string>;
  predefined: ReadonlySet<string>;
  consumed: Set<string>;
  resolveFrom: (ref: string) => ImageSource;
}

export const KNOWN_INSTRUCTIONS: ReadonlySet<string> = new Set([
  "ADD",
  "ARG",
  "CMD",
  "COPY",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "FROM",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "RUN",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
]);

export function translate(ins: RawInstruction, state: StageState, ctx: TranslateContext): Step {
  if (!KNOWN_INSTRUCTIONS.has(ins.keyword)) throw new UnknownInstruction(ins.keyword);
  const flags = checkFlags(ins.keyword, ins.flags);
  const lookup: Lookup = (n) => (state.env.has(n) ? state.env.get(n) : state.args.get(n));
  const expand = (word: string): string => expandWord(word, { escape: ctx.escape }, lookup);
  const base = { line: ins.line, source: ins.source };
  switch (ins.keyword) {
    case "RUN":
      return { ...base, kind: "run", ...runParts(ins, flags, state, ctx, expand) };
    case "COPY":
    case "ADD":
      return copyStep(ins, flags, ctx, expand, lookup, base);
    case "ENV": {
      const pairs = nameValuePairs(ins, ctx.escape, "ENV").map(([k, v]) => [expand(k), expand(v)] as [string, string]);
      for (const [k] of pairs) if (k === "") throw new FlagError("ENV names can not be blank");
      for (const [k, v] of pairs) state.env.set(k, v);
      return { ...base, kind: "env", vars: pairs };
    }
    case "LABEL": {
      const pairs = nameValuePairs(ins, ctx.escape, "LABEL").map(([k, v]) => [expand(k), expand(v)] as [string, string]);
      for (const [k] of pairs) if (k === "") throw new FlagError("LABEL names can not be blank");
      return { ...base, kind: "label", labels: pairs };
    }
    case "ARG": {
      const args: { name: string; value: string | undefined }[] = [];
      for (const { name, value: dflt } of argWords(ins.args, ctx.escape)) {
        ctx.consumed.add(name);
        let value: string | undefined;
        if (Object.hasOwn(ctx.buildArgs, name)) value = ctx.buildArgs[name];
        else if (dflt !== undefined) value = expand(dflt);
        else if (ctx.globals.has(name)) value = ctx.globals.get(name);
        else if (Object.hasOwn(ctx.automatic, name)) value = ctx.automatic[name];
        state.args.set(name, value);
        args.push({ name, value });
      }
      return { ...base, kind: "arg", args };
    }
    case "WORKDIR":
      return { ...base, kind: "workdir", path: single(ins, expand) };
    case "USER":
      return { ...base, kind: "user", user: single(ins, expand) };
    case "STOPSIGNAL":
      return { ...base, kind: "stopsignal", signal: single(ins, expand) };
    case "MAINTAINER":
      return { ...base, kind: "maintainer", author: ins.args };
    case "EXPOSE": {
      const words = ins.args.split(/\s+/).filter((w) => w !== "");
      if (words.length === 0) throw new FlagError("EXPOSE requires at least one argument");
      return { ...base, kind: "expose", ports: words.map((w) => exposedPort(expand(w))) };
    }
    case "VOLUME": {
      const items = jsonArray(ins.args) ?? ins.args.split(/\s+/).filter((w) => w !== "");
      const paths = items.map((w) => expand(w));
      if (paths.length === 0 || paths.some((p) => p.trim() === "")) throw new FlagError("VOLUME specified can not be an empty string");
      return { ...base, kind: "volume", paths };
    }
    case "CMD":
    case "ENTRYPOINT":
      return { ...base, kind: ins.keyword === "CMD" ? "cmd" : "entrypoint", command: command(ins.args, state.shell) };
    case "SHELL": {
      const shell = jsonArray(ins.args);
      if (shell === undefined) throw new FlagError("SHELL requires the arguments to be in JSON form");
      if (shell.length === 0) throw new FlagError("SHELL requires at least one argument");
      state.shell = shell;
      return { ...base, kind: "shell", shell };
    }
    case "HEALTHCHECK":
      return { ...base, kind: "healthcheck", ...healthcheck(ins, flags) };
    case "ONBUILD": {
      const trigger = ins.args.trim();
      const keyword = (trigger.split(/\s+/, 1)[0] ?? "").toUpperCase();
      if (keyword === "") throw new FlagError("ONBUILD requires at least one argument");
      if (keyword === "ONBUILD") throw new FlagError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (keyword === "FROM" || keyword === "MAINTAINER") throw new FlagError(`${keyword} isn't allowed as an ONBUILD trigger`);
      if (!KNOWN_INSTRUCTIONS.has(keyword)) throw new FlagError(`unknown instruction: ${keyword}`);
      return { ...base, kind: "onbuild", trigger };
    }
    default:
      // FROM is handled by the planner; reaching here means a FROM-less stage split went wrong.
      throw new FlagError(`unexpected ${ins.keyword}`);
  }
}

/** `ARG a b=1 "c=two words"`: names and unexpanded defaults. */
export function argWords(args: string, escape: string): { name: string; value: string | undefined }[] {
  const words = shellWords(args, escape);
  if (words.length === 0) throw new FlagError("ARG requires at least one argument");
  return words.map((word) => {
    const eq = word.indexOf("=");
    const name = eq < 0 ? word : word.slice(0, eq);
    if (name === "") throw new FlagError("ARG names can not be blank");
    return { name, value: eq < 0 ? undefined : word.slice(eq + 1) };
  });
}

/** An instruction keyword docker does not know. */
export class UnknownInstruction extends FlagError {
  constructor(readonly keyword: string) {
    super(`unknown instruction: ${keyword}`);
  }
}

function single(ins: RawInstruction, expand: (w: string) => string): string {
  if (ins.args.trim() === "") throw new FlagError(`${ins.keyword} requires exactly one argument`);
  return expand(ins.args.trim());
}

/** A JSON array of strings (exec form), or undefined for shell form, as BuildKit's parseMaybeJSON decides. */
function jsonArray(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith("[")) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
  } catch {
    // not JSON: shell form, as docker reads `CMD [ oops`
  }
  return undefined;
}

function command(args: string, shell: string[]): Command {
  const argv = jsonArray(args);
  return argv !== undefined ? { form: "exec", argv } : { form: "shell", shell: [...shell], script: args };
}

function runParts(
  ins: RawInstruction,
  flags: CheckedFlags,
  state: StageState,
  ctx: TranslateContext,
  expand: (w: string) => string,
): { command: Command; heredocs: HeredocFile[]; mounts: Mount[]; network: "default" | "none" | "host"; buildArgs: Record<string, string> } {
  if (flags.strings.has("security")) throw new FlagError("--security is not supported by this builder");
  const network = flags.strings.get("network") ?? "default";
  if (network !== "default" && network !== "none" && network !== "host") throw new FlagError(`unsupported network mode: ${network}`);
  if (ins.args.trim() === "") throw new FlagError("RUN requires at least one argument");
  const mounts = (flags.multi.get("mount") ?? []).map((value): Mount => {
    const m = parseMount(expand(value));
    if ((m.type === "bind" || m.type === "cache") && m.from !== undefined) {
      const { from, ...rest } = m;
      return { ...rest, from: ctx.resolveFrom(from) };
    }
    return m as Mount;
  });
  const buildArgs: Record<string, string> = {};
  for (const [k, v] of state.args) if (v !== undefined && !state.env.has(k)) buildArgs[k] = v;
  for (const k of ctx.predefined) if (Object.hasOwn(ctx.buildArgs, k) && !state.env.has(k)) buildArgs[k] ??= ctx.buildArgs[k] as string;
  const heredocs = ins.heredocs.map((h) => ({ name: h.name, content: h.content, expand: h.expand }));
  return { command: heredocs.length > 0 ? { form: "shell", shell: [...state.shell], script: ins.args } : command(ins.args, state.shell), heredocs, mounts, network, buildArgs };
}

function copyStep(
  ins: RawInstruction,
  flags: CheckedFlags,
  ctx: TranslateContext,
  expand: (w: string) => string,
  lookup: Lookup,
  base: { line: number; source: string },
): CopyStep {
  const add = ins.keyword === "ADD";
  if (flags.bools.get("parents")) throw new FlagError("--parents is not supported by this builder");
  if (flags.multi.has("exclude")) throw new FlagError("--exclude is not supported by this builder");
  const words = jsonArray(ins.args) ?? ins.args.split(/\s+/).filter((w) => w !== "");
  if (words.length < 2) {
    throw new FlagError(`${ins.keyword} requires at least two arguments, but only one was provided. Destination could not be determined.`);
  }
  const heredocNames = new Map(ins.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const heredocs: HeredocFile[] = [];
  for (const word of words.slice(0, -1)) {
    const m = /^\d*<<-?(.+)$/s.exec(word);
    const name = m ? expandWord(m[1] as string, { escape: ctx.escape }, () => undefined) : undefined;
    const doc = name === undefined ? undefined : heredocNames.get(name);
    if (doc !== undefined) {
      // COPY <<EOF: the body is the file; unquoted delimiters expand it with quotes and escapes kept as text.
      const content = doc.expand ? expandWord(doc.content, { escape: ctx.escape, rawQuotes: true, rawEscapes: true }, lookup) : doc.content;
      heredocs.push({ name: doc.name, content, expand: false });
    } else sources.push(expand(word));
  }
  const dest = expand(words[words.length - 1] as string);
  if (dest === "") throw new FlagError(`${ins.keyword}: the destination is empty after expansion`);
  const fromRef = flags.strings.get("from");
  const from = fromRef === undefined ? undefined : ctx.resolveFrom(expand(fromRef));
  const chown = flags.strings.get("chown");
  const chmod = flags.strings.get("chmod");
  const chmodValue = chmod === undefined ? undefined : expand(chmod);
  if (chmodValue !== undefined && chmodValue !== "" && !/^[0-7]{1,4}$/.test(chmodValue) && !/^([ugoa]*[-+=][rwxXst]*)(,[ugoa]*[-+=][rwxXst]*)*$/.test(chmodValue)) {
    throw new FlagError(`invalid chmod parameter: ${chmodValue}`);
  }
  const checksum = flags.strings.get("checksum");
  return {
    ...base,
    kind: add ? "add" : "copy",
    sources,
    heredocs,
    dest,
    ...(from === undefined ? {} : { from }),
    ...(chown === undefined || chown === "" ? {} : { chown: expand(chown) }),
    ...(chmodValue === undefined || chmodValue === "" ? {} : { chmod: chmodValue }),
    link: flags.bools.get("link") ?? false,
    ...(add && checksum !== undefined ? { checksum: expand(checksum) } : {}),
    ...(add ? { keepGitDir: flags.bools.get("keep-git-dir") ?? false } : {}),
  };
}

/** ENV/LABEL arguments: `k=v k2="v 2"` pairs, or the legacy `key value with spaces` form. Unexpanded. */
function nameValuePairs(ins: RawInstruction, escape: string, what: string): [string, string][] {
  const words = shellWords(ins.args, escape);
  if (words.length === 0) throw new FlagError(`${what} requires at least one argument`);
  if (!(words[0] as string).includes("=")) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(ins.args.trim());
    if (!m || (m[2] as string).trim() === "") throw new FlagError(`${what} must have two arguments`);
    return [[m[1] as string, (m[2] as string).trim()]];
  }
  return words.map((word) => {
    const eq = word.indexOf("=");
    if (eq < 0) throw new FlagError(`Syntax error - can't find = in "${word}". Must be of the form: name=value`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

function exposedPort(spec: string): string {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw new FlagError(`invalid containerPort: ${spec}`);
  if (m[2] !== undefined && Number(m[2]) < Number(m[1])) throw new FlagError(`invalid range specified for container port: ${spec}`);
  return `${m[1]}${m[2] === undefined ? "" : `-${m[2]}`}/${(m[3] ?? "tcp").toLowerCase()}`;
}

function healthcheck(
  ins: RawInstruction,
  flags: CheckedFlags,
): { test: string[]; interval?: number; timeout?: number; startPeriod?: number; startInterval?: number; retries?: number } {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(ins.args.trim());
  const type = (m?.[1] ?? "").toUpperCase();
  if (type === "NONE") {
    if ((m?.[2] ?? "").trim() !== "" || ins.flags.length > 0) throw new FlagError("HEALTHCHECK NONE takes no arguments");
    return { test: ["NONE"] };
  }
  if (type !== "CMD") throw new FlagError(`Unknown type "${m?.[1] ?? ""}" in HEALTHCHECK (try CMD)`);
  const rest = (m?.[2] ?? "").trim();
  if (rest === "") throw new FlagError("Missing command after HEALTHCHECK CMD");
  const argv = jsonArray(rest);
  const out: { test: string[]; interval?: number; timeout?: number; startPeriod?: number; startInterval?: number; retries?: number } = {
    test: argv !== undefined ? ["CMD", ...argv] : ["CMD-SHELL", rest],
  };
  const durations: [string, "interval" | "timeout" | "startPeriod" | "startInterval"][] = [
    ["interval", "interval"],
    ["timeout", "timeout"],
    ["start-period", "startPeriod"],
    ["start-interval", "startInterval"],
  ];
  for (const [flag, key] of durations) {
    const v = flags.strings.get(flag);
    if (v === undefined) continue;
    let ms: number;
    try {
      ms = parseDuration(v);
    } catch (err) {
      throw new FlagError(`--${flag}: ${(err as Error).message}`);
    }
    if (ms !== 0 && ms < 1) throw new FlagError(`Interval "${flag}" cannot be less than 1ms`);
    out[key] = Math.round(ms * 1e6);
  }
  const retries = flags.strings.get("retries");
  if (retries !== undefined) {
    if (!/^-?\d+$/.test(retries)) throw new FlagError(`--retries: invalid number "${retries}"`);
    if (Number(retries) < 0) throw new FlagError("--retries cannot be negative");
    out.retries = Number(retries);
  }
  return out;
}

