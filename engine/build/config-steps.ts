// The Dockerfile instructions that change only the image config (ENV, LABEL,
// CMD ...), applied to the config in Docker's form (Env, Cmd, ...) the way
// BuildKit's dockerfile2llb does, with the history entry BuildKit writes for
// each. Pure: the executor keeps the config between steps and commits it with
// the next layer.
import { posix } from "node:path";
import type { Command, Step } from "./dockerfile/types.js";

/** BuildKit's history comment on every entry a Dockerfile step writes. */
export const HISTORY_COMMENT = "buildkit.dockerfile.v0";
/** Docker's default PATH, which BuildKit gives a stage whose base has none (FROM scratch). */
export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export type DockerConfig = Record<string, unknown>;

/** Per stage: whether CMD was set in it (an ENTRYPOINT then keeps it; one inherited is reset, as docker does). */
export interface ConfigState {
  config: DockerConfig;
  cmdSet: boolean;
}

/** Go's %q of a []string, as BuildKit formats CMD and ENTRYPOINT in history: ["a" "b"]. */
export const goQuoteList = (argv: readonly string[]): string => `[${argv.map((a) => JSON.stringify(a)).join(" ")}]`;

export function commandArgv(c: Command): string[] {
  return c.form === "exec" ? [...c.argv] : [...c.shell, c.script];
}

export function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => (e.includes("=") ? e.slice(0, e.indexOf("=")) : e) === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

export const envOf = (c: DockerConfig): string[] => (Array.isArray(c.Env) ? (c.Env as string[]) : []);

/** The stage's working directory after `WORKDIR path` (relative to the current one, as docker resolves it). */
export function resolveWorkdir(current: unknown, path: string): string {
  const base = typeof current === "string" && current !== "" ? current : "/";
  return posix.resolve(base, path);
}

export type ConfigOnlyStep = Exclude<Step, { kind: "run" | "copy" | "add" }>;

export const isConfigOnly = (step: Step): step is ConfigOnlyStep => step.kind !== "run" && step.kind !== "copy" && step.kind !== "add";

/**
 * Applies a config-only step; returns its history `created_by`, or undefined
 * for a step BuildKit keeps out of the history (ARG).
 */
export function applyConfigStep(state: ConfigState, step: ConfigOnlyStep): string | undefined {
  const c = state.config;
  switch (step.kind) {
    case "env": {
      let env = envOf(c);
      for (const [k, v] of step.vars) env = setEnv(env, k, v);
      c.Env = env;
      return `ENV ${step.vars.map(([k, v]) => `${k}=${v}`).join(" ")}`;
    }
    case "arg":
      return undefined;
    case "label":
      c.Labels = { ...((c.Labels) ?? {}), ...Object.fromEntries(step.labels) };
      return `LABEL ${step.labels.map(([k, v]) => `${k}=${v}`).join(" ")}`;
    case "workdir":
      c.WorkingDir = resolveWorkdir(c.WorkingDir, step.path);
      return `WORKDIR ${c.WorkingDir as string}`;
    case "user":
      c.User = step.user;
      return `USER ${step.user}`;
    case "expose": {
      const ports = step.ports.flatMap(portsOf);
      c.ExposedPorts = { ...((c.ExposedPorts) ?? {}), ...Object.fromEntries(ports.map((p) => [p, {}])) };
      return `EXPOSE map[${ports.map((p) => `${p}:{}`).join(" ")}]`;
    }
    case "volume":
      c.Volumes = { ...((c.Volumes) ?? {}), ...Object.fromEntries(step.paths.map((p) => [p, {}])) };
      return `VOLUME [${step.paths.join(" ")}]`;
    case "stopsignal":
      c.StopSignal = step.signal;
      return `STOPSIGNAL ${step.signal}`;
    case "cmd": {
      const argv = commandArgv(step.command);
      c.Cmd = argv;
      state.cmdSet = true;
      return `CMD ${goQuoteList(argv)}`;
    }
    case "entrypoint": {
      const argv = commandArgv(step.command);
      c.Entrypoint = argv;
      // docker: an ENTRYPOINT drops the CMD the base image had, unless this stage set one.
      if (!state.cmdSet) c.Cmd = null;
      return `ENTRYPOINT ${goQuoteList(argv)}`;
    }
    case "shell":
      c.Shell = [...step.shell];
      return `SHELL ${goQuoteList(step.shell)}`;
    case "healthcheck": {
      c.Healthcheck = {
        Test: [...step.test],
        ...(step.interval !== undefined ? { Interval: step.interval } : {}),
        ...(step.timeout !== undefined ? { Timeout: step.timeout } : {}),
        ...(step.startPeriod !== undefined ? { StartPeriod: step.startPeriod } : {}),
        ...(step.startInterval !== undefined ? { StartInterval: step.startInterval } : {}),
        ...(step.retries !== undefined ? { Retries: step.retries } : {}),
      };
      return `HEALTHCHECK ${goQuoteList(step.test)}`;
    }
    case "onbuild":
      c.OnBuild = [...((c.OnBuild as string[] | null | undefined) ?? []), step.trigger];
      return `ONBUILD ${step.trigger}`;
    case "maintainer":
      return `MAINTAINER ${step.author}`;
  }
}

/** A port or a range ("7000-7002/udp") as the config's keys, one per port: BuildKit's nat.ParsePortSpecs. */
function portsOf(spec: string): string[] {
  const m = /^(\d+)-(\d+)(\/\w+)$/.exec(spec);
  if (!m) return [spec];
  const out: string[] = [];
  for (let p = Number(m[1]); p <= Number(m[2]); p++) out.push(`${p}${m[3] ?? ""}`);
  return out;
}
