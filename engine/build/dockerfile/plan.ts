// Dockerfile -> BuildPlan: stages, their steps with arguments expanded the
// way BuildKit does (ARG/ENV scoping, build args, the automatic platform
// ARGs), the stages the target needs in parallelisable waves, and the images
// to pull. Pure: the base images' configs come in through `imageConfig`
// (call once without it to learn `pulls`, pull, then plan again with it).
import { DockerfileError, ExpansionError } from "./errors.js";
import { FlagError } from "./flags.js";
import { argWords, KNOWN_INSTRUCTIONS, translate, UnknownInstruction, type StageState } from "./instructions.js";
import { hostPlatform, platformArgs, type Platform } from "./platform.js";
import { expandWord, type Lookup } from "./shell-lex.js";
import { HeredocError, parseDockerfile, type RawInstruction } from "./syntax.js";
import type { BuildPlan, ImageSource, Stage } from "./types.js";

export interface ImageConfigView {
  /** `KEY=VALUE` entries, as in an image config. */
  env?: string[];
  shell?: string[];
  /** The image's ONBUILD triggers (`RUN echo hi`), run right after a FROM of it. */
  onBuild?: string[];
}

export interface PlanOptions {
  /** The Dockerfile's name in messages (default "Dockerfile"). */
  file?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  platform?: Platform;
  imageConfig?: (ref: string) => ImageConfigView | undefined;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEFAULT_SHELL = ["/bin/sh", "-c"];

/** Build args docker accepts without an ARG (usable by RUN, never reported as unused). */
const PREDEFINED_ARGS = new Set([
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "FTP_PROXY",
  "ftp_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
]);

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export function planBuild(text: string, options: PlanOptions = {}): BuildPlan {
  const file = options.file ?? "Dockerfile";
  const fail = (ins: RawInstruction | undefined, what: string): never => {
    throw new DockerfileError(file, ins?.line, ins === undefined ? what : `${ins.keyword}: ${what}`);
  };
  let parsed;
  try {
    parsed = parseDockerfile(text);
  } catch (err) {
    if (err instanceof HeredocError) throw new DockerfileError(file, err.line, err.message);
    throw err;
  }
  const { escape, instructions } = parsed;
  if (instructions.length === 0) fail(undefined, "file with no instructions");
  const buildArgs = options.buildArgs ?? {};
  const platform = options.platform ?? hostPlatform();
  const consumed = new Set<string>();

  // The global scope: ARGs before the first FROM (and the automatic platform ARGs) serve FROM lines only.
  const automatic = platformArgs(platform, platform);
  const globals = new Map<string, string | undefined>();
  let i = 0;
  for (; i < instructions.length && (instructions[i] as RawInstruction).keyword !== "FROM"; i++) {
    const ins = instructions[i] as RawInstruction;
    if (!KNOWN_INSTRUCTIONS.has(ins.keyword)) throw new DockerfileError(file, ins.line, `unknown instruction: ${ins.keyword}`);
    if (ins.keyword !== "ARG") fail(ins, "no build stage in current context");
    let words: { name: string; value: string | undefined }[] = [];
    try {
      words = argWords(ins.args, escape);
    } catch (err) {
      if (err instanceof FlagError) fail(ins, err.message);
      throw err;
    }
    for (const { name, value } of words) {
      consumed.add(name);
      const lookup: Lookup = (n) => globals.get(n) ?? automatic[n];
      const dflt = value === undefined ? undefined : expandOrFail(ins, value, escape, lookup, fail);
      globals.set(name, Object.hasOwn(buildArgs, name) ? buildArgs[name] : dflt);
    }
  }
  if (i === instructions.length) fail(undefined, "no build stage in current context");
  const fromLookup: Lookup = (n) => (globals.has(n) ? globals.get(n) : automatic[n]);

  // Stage boundaries first, so a --from can tell a later stage from an image.
  const starts: number[] = [];
  for (let j = i; j < instructions.length; j++) if ((instructions[j] as RawInstruction).keyword === "FROM") starts.push(j);
  const names = starts.map((s) => stageName(instructions[s] as RawInstruction, fail));
  names.forEach((name, idx) => {
    if (name !== undefined && names.indexOf(name) !== idx) {
      fail(instructions[starts[idx] as number], `duplicate stage name "${name}", stage names should be unique`);
    }
  });

  const stages: Stage[] = [];
  const finalState: StageState[] = [];
  const stageImages: string[][] = [];
  for (let s = 0; s < starts.length; s++) {
    const fromIns = instructions[starts[s] as number] as RawInstruction;
    const end = s + 1 < starts.length ? (starts[s + 1] as number) : instructions.length;
    const refs = new StageRefs(s, names, fail);
    const { base, platform: fromPlatform } = translateFrom(fromIns, escape, fromLookup, refs, fail);
    const state = initialState(base, finalState, options.imageConfig);
    const stage: Stage = {
      index: s,
      ...(names[s] === undefined ? {} : { name: names[s] }),
      line: fromIns.line,
      base,
      ...(fromPlatform === undefined ? {} : { platform: fromPlatform }),
      dependsOn: [],
      steps: [],
    };
    // docker's ONBUILD: the base's triggers run first, in this stage's context, as if written right after its FROM.
    const own = instructions.slice((starts[s] as number) + 1, end);
    const triggers = onBuildTriggers(base, stages, options.imageConfig, fromIns, file);
    for (const ins of [...triggers, ...own]) {
      try {
        const step = translate(ins, state, {
          escape,
          buildArgs,
          globals,
          automatic,
          predefined: PREDEFINED_ARGS,
          consumed,
          resolveFrom: (ref) => refs.resolve(ref, ins),
        });
        stage.steps.push(step);
      } catch (err) {
        if (err instanceof UnknownInstruction) throw new DockerfileError(file, ins.line, err.message);
        if (err instanceof ExpansionError || err instanceof FlagError) fail(ins, err.message);
        throw err;
      }
    }
    stage.dependsOn = [...refs.stages].sort((a, b) => a - b);
    stages.push(stage);
    finalState.push(state);
    stageImages.push(refs.images);
  }

  const target = findTarget(options.target, names, file);
  const waves = planWaves(stages, target);
  const pulls: string[] = [];
  for (const wave of waves) {
    for (const s of wave) for (const ref of stageImages[s] as string[]) if (!pulls.includes(ref)) pulls.push(ref);
  }
  const unused = Object.keys(buildArgs)
    .filter((k) => !consumed.has(k) && !PREDEFINED_ARGS.has(k) && !k.startsWith("BUILDKIT_"))
    .sort();
  const warnings = unused.length === 0 ? [] : [`[Warning] One or more build-args [${unused.join(" ")}] were not consumed`];
  return { stages, target, waves, pulls, warnings };
}

type Fail = (ins: RawInstruction | undefined, what: string) => never;

function expandOrFail(ins: RawInstruction, word: string, escape: string, lookup: Lookup, fail: Fail): string {
  try {
    return expandWord(word, { escape }, lookup);
  } catch (err) {
    if (err instanceof ExpansionError) return fail(ins, err.message);
    throw err;
  }
}

function stageName(ins: RawInstruction, fail: Fail): string | undefined {
  const words = ins.args.split(/\s+/).filter((w) => w !== "");
  if (words.length !== 1 && !(words.length === 3 && (words[1] as string).toLowerCase() === "as")) {
    fail(ins, "FROM requires either one or three arguments");
  }
  if (words.length === 1) return undefined;
  const name = (words[2] as string).toLowerCase();
  if (!STAGE_NAME.test(name)) fail(ins, `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
  if (name === "scratch" || name === "context") fail(ins, `"${name}" is a reserved name and cannot be used as a stage name`);
  return name;
}

/** Resolves the `--from`/`from=` references of one stage and remembers what it read. */
class StageRefs {
  readonly stages = new Set<number>();
  readonly images: string[] = [];
  constructor(
    private readonly index: number,
    private readonly names: (string | undefined)[],
    private readonly fail: Fail,
  ) {}

  resolve(ref: string, ins: RawInstruction, allowIndex = true): ImageSource {
    if (ref === "") this.fail(ins, "a stage or image name is empty after expansion");
    if (ref === "scratch") return { kind: "scratch" };
    if (allowIndex && /^\d+$/.test(ref)) {
      const n = Number(ref);
      if (n === this.index) this.fail(ins, `circular dependency detected on stage: ${ref}`);
      if (n > this.index) this.fail(ins, `invalid from flag value ${ref}: refers to a stage that is not defined before it`);
      this.stages.add(n);
      return { kind: "stage", index: n };
    }
    const lower = ref.toLowerCase();
    const at = this.names.indexOf(lower);
    if (at === this.index) this.fail(ins, `circular dependency detected on stage: ${lower}`);
    if (at > this.index) {
      // BuildKit's wording (moby/buildkit#4568); stages only ever see the stages before them.
      const verb = ins.keyword === "RUN" ? "mount from" : ins.keyword === "FROM" ? "build from" : "copy from";
      this.fail(ins, `cannot ${verb} stage "${lower}", it needs to be defined before current stage "${this.names[this.index] ?? this.index}"`);
    }
    if (at >= 0) {
      this.stages.add(at);
      return { kind: "stage", index: at };
    }
    if (!this.images.includes(ref)) this.images.push(ref);
    return { kind: "image", ref };
  }
}

function translateFrom(
  ins: RawInstruction,
  escape: string,
  lookup: Lookup,
  refs: StageRefs,
  fail: Fail,
): { base: ImageSource; platform?: string } {
  let platform: string | undefined;
  for (const flag of ins.flags) {
    if (flag.name !== "platform") fail(ins, `unknown flag: ${flag.name}`);
    if (platform !== undefined) fail(ins, `duplicate flag specified: platform`);
    if (flag.value === undefined || flag.value === "") fail(ins, "missing a value on flag: platform");
    platform = expandOrFail(ins, flag.value, escape, lookup, fail);
  }
  const raw = ins.args.split(/\s+/)[0] as string;
  const name = expandOrFail(ins, raw, escape, lookup, fail);
  if (name === "") fail(ins, `base name (${raw}) should not be blank`);
  return { base: refs.resolve(name, ins, false), ...(platform === undefined ? {} : { platform }) };
}

/**
 * The triggers a FROM runs: an image's OnBuild, or the ONBUILD steps of the
 * stage it builds on (whose image would carry them). Each becomes an
 * instruction at the FROM's line, written `ONBUILD ...` in progress and errors.
 */
function onBuildTriggers(base: ImageSource, stages: Stage[], imageConfig: PlanOptions["imageConfig"], from: RawInstruction, file: string): RawInstruction[] {
  let triggers: string[] = [];
  if (base.kind === "image") triggers = imageConfig?.(base.ref)?.onBuild ?? [];
  else if (base.kind === "stage") triggers = (stages[base.index] as Stage).steps.flatMap((st) => (st.kind === "onbuild" ? [st.trigger] : []));
  return triggers.flatMap((trigger) => {
    let parsed;
    try {
      parsed = parseDockerfile(trigger).instructions;
    } catch (err) {
      throw new DockerfileError(file, from.line, `ONBUILD ${trigger}: ${(err as Error).message}`);
    }
    return parsed.map((ins) => {
      if (ins.keyword === "ONBUILD" || ins.keyword === "FROM" || ins.keyword === "MAINTAINER") throw new DockerfileError(file, from.line, `ONBUILD: ${ins.keyword} isn't allowed as an ONBUILD trigger`);
      return { ...ins, line: from.line, source: `ONBUILD ${ins.source}` };
    });
  });
}

function initialState(base: ImageSource, finals: StageState[], imageConfig: PlanOptions["imageConfig"]): StageState {
  if (base.kind === "stage") {
    const parent = finals[base.index] as StageState;
    return { env: new Map(parent.env), args: new Map(), shell: [...parent.shell] };
  }
  if (base.kind === "scratch") return { env: new Map([["PATH", DEFAULT_PATH]]), args: new Map(), shell: [...DEFAULT_SHELL] };
  const config = imageConfig?.(base.ref);
  const env = new Map<string, string>();
  for (const entry of config?.env ?? []) {
    const eq = entry.indexOf("=");
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return { env, args: new Map(), shell: config?.shell && config.shell.length > 0 ? [...config.shell] : [...DEFAULT_SHELL] };
}

function findTarget(target: string | undefined, names: (string | undefined)[], file: string): number {
  if (target === undefined || target === "") return names.length - 1;
  const at = names.indexOf(target.toLowerCase());
  if (at < 0) throw new DockerfileError(file, undefined, `target stage "${target}" could not be found`);
  return at;
}

/** The target's stages layered so each depends only on earlier layers. */
function planWaves(stages: Stage[], target: number): number[][] {
  const depth = new Map<number, number>();
  const visit = (s: number): number => {
    const known = depth.get(s);
    if (known !== undefined) return known;
    // Stages only read earlier stages (checked while resolving), so this recursion ends.
    const d = Math.max(-1, ...(stages[s] as Stage).dependsOn.map(visit)) + 1;
    depth.set(s, d);
    return d;
  };
  visit(target);
  const waves: number[][] = [];
  for (const [s, d] of [...depth.entries()].sort((a, b) => a[0] - b[0])) (waves[d] ??= []).push(s);
  return waves;
}
