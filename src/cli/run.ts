// `tscompose run SERVICE [COMMAND...]`: a one-off container of a service, as
// compose v2 runs it. Dependencies come up first through the ordinary `up`
// path (unless --no-deps), then the daemon creates `<project>-<service>-run-
// <12 hex>` and streams its output until it exits; its exit code is the
// CLI's, and --rm removes it afterwards. Progress goes to stderr, so that
// stdout is only the container's (`run --rm svc cat file > copy` works).
//
// Without -d the CLI's stdin is the container's, as compose's run -i (its
// default): its end closes the container's stdin (docker's StdinOnce), so
// `echo x | run svc cat` ends; with a tty the terminal goes raw.
import { selectServices } from "../../model/dependencies.js";
import type { ActionMessage, PortBinding, RunRequest, StreamMessage } from "../daemon/api.js";
import type { AttachMessage } from "../daemon/attach.js";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseDotenv } from "../stack/dotenv.js";
import { parseVolumeFlag } from "../stack/normalize.js";
import { expandPath, homeOf } from "../stack/paths.js";
import { parsePortShort } from "../stack/ports.js";
import type { ProjectOptions } from "../stack/load.js";
import { attach } from "./attach.js";
import { CliError } from "./errors.js";
import { dockerConfigLocation } from "./images.js";
import { resolveEnv } from "./exec.js";
import { daemon, loadProject, projectRef } from "./project.js";
import { labelMap } from "./object-output.js";
import { actionSubject } from "./progress.js";

export interface RunFlags {
  rm?: boolean;
  detach?: boolean;
  /** false with -T. */
  TTY?: boolean;
  env?: string[];
  name?: string;
  entrypoint?: string;
  user?: string;
  workdir?: string;
  /** false with --no-deps. */
  deps?: boolean;
  publish?: string[];
  servicePorts?: boolean;
  useAliases?: boolean;
  label?: string[];
  pull?: "always" | "missing" | "never";
  quietPull?: boolean;
  build?: boolean;
  /** -v: short volume specs; a relative bind source is the current directory's. */
  volume?: string[];
  capAdd?: string[];
  capDrop?: string[];
  /** --env-from-file: dotenv files whose variables -e does not set. */
  envFromFile?: string[];
  /** -q: no progress at all (pulls, builds, dependencies). */
  quiet?: boolean;
  quietBuild?: boolean;
  removeOrphans?: boolean;
}

/**
 * -e, then the --env-from-file files for what -e leaves unset, as compose's
 * run: a file's `${VAR}` reads -e's values.
 */
export function runEnvironment(entries: string[] | undefined, files: string[] | undefined, env: Record<string, string | undefined>, cwd: string): string[] {
  const out = new Map<string, string>();
  for (const e of resolveEnv(entries, env)) {
    const eq = e.indexOf("=");
    out.set(e.slice(0, eq), e.slice(eq + 1));
  }
  for (const file of files ?? []) {
    const path = resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new CliError(`--env-from-file ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, 1, { cause: err });
    }
    let vars: Record<string, string>;
    try {
      vars = parseDotenv(text, path, (name) => out.get(name));
    } catch (err) {
      throw new CliError((err as Error).message, 1, { cause: err });
    }
    for (const [k, v] of Object.entries(vars)) if (!out.has(k)) out.set(k, v);
  }
  return [...out].map(([k, v]) => `${k}=${v}`);
}

/** run -v as the daemon takes it: checked here (a bad one names itself before anything runs), a relative or ~ bind source made absolute. */
export function runVolumes(specs: string[] | undefined, cwd: string, home: string): string[] {
  return (specs ?? []).map((spec) => {
    try {
      parseVolumeFlag(spec);
    } catch (err) {
      throw new CliError(`run -v: ${(err as Error).message}`, 1, { cause: err });
    }
    const colon = spec.indexOf(":");
    if (colon < 0) return spec;
    const source = spec.slice(0, colon);
    if (!source.startsWith(".") && !source.startsWith("~")) return spec;
    return `${expandPath(source, cwd, home)}${spec.slice(colon)}`;
  });
}

export async function runRun(opts: ProjectOptions, service: string, command: string[], flags: RunFlags): Promise<number> {
  const { stack } = loadProject(opts);
  const svc = stack.services[service];
  if (!svc) throw new CliError(`no such service: ${service}`);
  const body: RunRequest = {
    project: projectRef(opts),
    service,
    command: command.length > 0 ? command : undefined,
    entrypoint: flags.entrypoint !== undefined ? splitShellWords(flags.entrypoint) : undefined,
    env: runEnvironment(flags.env, flags.envFromFile, opts.env, opts.cwd),
    user: flags.user,
    workingDir: flags.workdir,
    name: flags.name,
    // A tty only when the service asks for one: with nothing to type into it,
    // a shell on a tty would wait for input forever.
    tty: svc.tty && flags.TTY !== false,
    interactive: flags.detach !== true,
    rm: flags.rm === true,
    detach: flags.detach === true,
    ports: (flags.publish ?? []).flatMap(parsePublish),
    servicePorts: flags.servicePorts,
    useAliases: flags.useAliases,
    labels: labelMap(flags.label),
    pull: flags.pull,
    ...(flags.build === true ? { build: true } : {}),
    auth: dockerConfigLocation(),
    ...(flags.volume && flags.volume.length > 0 ? { volumes: runVolumes(flags.volume, opts.cwd, homeOf(opts.env)) } : {}),
    ...(flags.capAdd && flags.capAdd.length > 0 ? { capAdd: flags.capAdd } : {}),
    ...(flags.capDrop && flags.capDrop.length > 0 ? { capDrop: flags.capDrop } : {}),
    ...(flags.removeOrphans === true ? { removeOrphans: true } : {}),
  };
  const quiet: Quiet = { all: flags.quiet === true || flags.quietPull === true, build: flags.quiet === true || flags.quietBuild === true };
  const client = await daemon();

  if (flags.deps !== false) {
    const deps = selectServices(stack, [service]).filter((s) => s !== service);
    if (deps.length > 0) {
      const messages = client.stream<StreamMessage>("POST", "/stacks/up", { project: body.project, auth: body.auth, options: { services: deps, pull: flags.pull, ...(flags.build === true ? { build: "always" } : {}) } });
      if (!(await renderToStderr(messages, quiet))) return 1;
    }
  }

  let name = "";
  const progress = new StderrProgress(quiet);
  const code = await attach(client, "/stacks/run", body, {
    tty: body.tty === true && body.interactive === true,
    stdin: body.interactive === true,
    // compose forwards the signals the CLI gets to the container.
    forwardSignals: !body.detach,
    onMessage: (m: AttachMessage) => {
      if (m.type === "container") name = m.name;
      else progress.render(m);
    },
  });
  progress.flushErrors();
  if (body.detach) process.stdout.write(`${name}\n`);
  return code;
}

/** Renders `up` progress for dependencies on stderr, compose's plain style: ` Container p-db-1  Started`. */
/** What run leaves out of its progress: everything (-q, --quiet-pull), or the builds' lines (--quiet-build). */
export interface Quiet {
  all: boolean;
  build: boolean;
}

/** The stderr line of a finished step (` Container x  Started`), or undefined when there is none or the flags hide it. */
export function doneLine(m: ActionMessage, quiet: Quiet): string | undefined {
  const word = DONE[m.kind];
  if (m.status !== "done" || !word || quiet.all || (m.kind === "build" && quiet.build)) return undefined;
  return ` ${actionSubject(m.kind, m.name)}  ${word}\n`;
}

class StderrProgress {
  private readonly errors: string[] = [];
  ok = true;

  constructor(private readonly quiet: Quiet) {}

  render(m: StreamMessage): void {
    switch (m.type) {
      case "action": {
        // The daemon names each object as users see it (container_name, a network's name), as up's progress does.
        const what = actionSubject(m.kind, m.name);
        const line = doneLine(m, this.quiet);
        if (line !== undefined) process.stderr.write(line);
        if (m.status === "failed" || m.status === "skipped") {
          this.ok = false;
          this.errors.push(`${what}: ${m.message ?? "failed"}`);
        }
        break;
      }
      case "warning":
        process.stderr.write(`WARN ${m.message}\n`);
        break;
      case "error":
        this.ok = false;
        this.errors.push(m.message);
        break;
      case "result":
        if (!m.ok) this.ok = false;
        break;
      default:
        break;
    }
  }

  flushErrors(): void {
    for (const e of new Set(this.errors)) process.stderr.write(`Error: ${e}\n`);
    this.errors.length = 0;
  }
}

const DONE: Record<string, string> = {
  pull: "Pulled",
  build: "Built",
  "create-network": "Created",
  "create-volume": "Created",
  create: "Created",
  start: "Started",
  restart: "Restarted",
  stop: "Stopped",
  remove: "Removed",
  wait: "Healthy",
};

async function renderToStderr(messages: AsyncIterable<StreamMessage>, quiet: Quiet): Promise<boolean> {
  const p = new StderrProgress(quiet);
  for await (const m of messages) p.render(m);
  p.flushErrors();
  return p.ok;
}

/** `run -p`: docker's `[[ip:]host:]container[/proto]`, ranges expanded port by port. */
export function parsePublish(spec: string): PortBinding[] {
  let parsed;
  try {
    parsed = parsePortShort(spec);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const { target, published, hostIp, protocol } = parsed;
  const count = target.end - target.start + 1;
  if (published && published.end - published.start + 1 !== count && published.start !== published.end) {
    throw new CliError(`invalid port "${spec}": the host and container ranges differ in size`);
  }
  const out: PortBinding[] = [];
  for (let i = 0; i < count; i++) {
    const hostPort = published === undefined ? undefined : published.start === published.end && count > 1 ? String(published.start) : String(published.start + i);
    out.push({ containerPort: target.start + i, protocol, hostPort, hostIp });
  }
  return out;
}

/** --entrypoint is one string split like a shell would (compose uses shellwords): quotes and backslashes. */
export function splitShellWords(s: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && i + 1 < s.length && '"\\$`'.includes(s[i + 1] as string)) word += s[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < s.length) {
      word += s[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new CliError(`invalid --entrypoint: unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}
