// The fake's build: the Dockerfile planned by the real frontend (planBuild),
// then only what an image config records applied: ENV, LABEL, WORKDIR, USER,
// EXPOSE, VOLUME, STOPSIGNAL, CMD, ENTRYPOINT, SHELL (and the request's
// labels). RUN and COPY/ADD change no files here: the fake cannot run a
// process, so `RUN false` succeeds; each step is reported started and done.
import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { OciImageConfig } from "../image/config.js";
import { planBuild } from "../build/dockerfile/plan.js";
import type { BuildPlan, Command, Stage } from "../build/dockerfile/types.js";
import { EngineError } from "../errors.js";
import type { BuildProgress, BuildRequest } from "../types.js";

type DockerConfig = NonNullable<OciImageConfig["config"]>;

export async function dockerfileOf(req: BuildRequest): Promise<string> {
  if (req.dockerfileInline !== undefined) return req.dockerfileInline;
  const path = req.dockerfile === undefined ? join(req.contextDir, "Dockerfile") : isAbsolute(req.dockerfile) ? req.dockerfile : join(req.contextDir, req.dockerfile);
  return readFile(path, "utf8").catch((err: Error) => {
    throw new EngineError("not-found", `unable to prepare context: ${err.message}`);
  });
}

export function planOf(req: BuildRequest, text: string, env: (ref: string) => string[] | undefined): BuildPlan {
  const buildArgs = Object.fromEntries(Object.entries(req.buildArgs ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k, v]])));
  return planBuild(text, { buildArgs, ...(req.target !== undefined ? { target: req.target } : {}), imageConfig: (ref) => ({ env: env(ref) ?? [] }) });
}

/** The target stage's config from its base's, step by step, with progress events numbered from `firstId`. */
export function applyStages(plan: BuildPlan, baseConfig: (ref: string) => DockerConfig, emit: (p: BuildProgress) => void): DockerConfig {
  let id = 0;
  const configs = new Map<number, DockerConfig>();
  const stageConfig = (stage: Stage): DockerConfig => {
    const base = stage.base;
    const config: DockerConfig = structuredClone(base.kind === "image" ? baseConfig(base.ref) : base.kind === "stage" ? (configs.get(base.index) ?? {}) : {});
    const total = stage.steps.length + 1;
    const label = (n: number): string => `[${stage.name !== undefined ? `${stage.name} ` : ""}${n}/${total}]`;
    const step = (n: number, source: string, apply: () => void): void => {
      const at = ++id;
      emit({ type: "step", id: at, name: `${label(n)} ${source}`, state: "started" });
      apply();
      emit({ type: "step", id: at, name: `${label(n)} ${source}`, state: "done", durationMs: 0 });
    };
    step(1, `FROM ${base.kind === "image" ? base.ref : base.kind === "stage" ? String(base.index) : "scratch"}`, () => undefined);
    stage.steps.forEach((s, i) =>
      step(i + 2, s.source, () => {
        switch (s.kind) {
          case "env": {
            const env = new Map((config.Env ?? []).map((e) => [e.split("=")[0] ?? e, e]));
            for (const [k, v] of s.vars) env.set(k, `${k}=${v}`);
            config.Env = [...env.values()];
            break;
          }
          case "label":
            config.Labels = { ...config.Labels, ...Object.fromEntries(s.labels) };
            break;
          case "workdir":
            config.WorkingDir = s.path.startsWith("/") ? s.path : join(config.WorkingDir ?? "/", s.path);
            break;
          case "user":
            config.User = s.user;
            break;
          case "expose":
            config.ExposedPorts = { ...config.ExposedPorts, ...Object.fromEntries(s.ports.map((p) => [p, {}])) };
            break;
          case "volume":
            config.Volumes = { ...config.Volumes, ...Object.fromEntries(s.paths.map((p) => [p, {}])) };
            break;
          case "stopsignal":
            config.StopSignal = s.signal;
            break;
          case "cmd":
            config.Cmd = argv(s.command);
            break;
          case "entrypoint":
            config.Entrypoint = argv(s.command);
            delete config.Cmd;
            break;
          default:
            break;
        }
      }),
    );
    configs.set(stage.index, config);
    return config;
  };
  let result: DockerConfig = {};
  for (const wave of plan.waves) for (const index of wave) result = stageConfig(plan.stages[index] as Stage);
  return result;
}

function argv(c: Command): string[] {
  return c.form === "exec" ? c.argv : [...c.shell, c.script];
}
