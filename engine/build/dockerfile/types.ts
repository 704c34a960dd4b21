// The build plan: what the step executor runs, with every argument the
// frontend expands already expanded, so nothing downstream re-reads the
// Dockerfile. Plain data (JSON-serialisable) so that it can be logged,
// cached and compared in tests.

export type ImageSource =
  | { kind: "image"; ref: string }
  | { kind: "stage"; index: number }
  | { kind: "scratch" };

export interface BuildPlan {
  /** Every stage of the Dockerfile, in file order; `stages[i].index === i`. */
  stages: Stage[];
  /** The index of the stage the build produces (`--target`, else the last). */
  target: number;
  /**
   * The stages the target needs, in waves: a stage depends only on stages of
   * earlier waves, so the stages of one wave can be built in parallel. The
   * target is alone in the last wave.
   */
  waves: number[][];
  /** Images named by FROM, COPY --from or RUN --mount from= that are not stages (no duplicates, in first-use order). */
  pulls: string[];
  /** Non-fatal findings in docker's words ("[Warning] One or more build-args [X] were not consumed"). */
  warnings: string[];
}

export interface Stage {
  index: number;
  /** The `AS` name, lower-cased as BuildKit does. */
  name?: string;
  line: number;
  base: ImageSource;
  /** `FROM --platform`, expanded. */
  platform?: string;
  /** Stages this stage reads (FROM, COPY --from, RUN --mount from=). */
  dependsOn: number[];
  steps: Step[];
}

export interface StepBase {
  line: number;
  /** The instruction as written, for history entries and progress. */
  source: string;
}

/** A command: exec form is an argv; shell form a string the stage's SHELL runs (`shell` is that SHELL). */
export type Command = { form: "exec"; argv: string[] } | { form: "shell"; shell: string[]; script: string };

export interface HeredocFile {
  name: string;
  /** The body, expanded when the delimiter was unquoted (COPY/ADD) or left to the shell (RUN). */
  content: string;
  /** RUN only: whether the shell should expand the body (unquoted delimiter). */
  expand: boolean;
}

/** A RUN `--mount`; `From` is how its `from=` is held: the written text while parsing, a resolved source after. */
export type MountOf<From> =
  | { type: "bind"; target: string; source: string; from?: From; readonly: boolean }
  | {
      type: "cache";
      target: string;
      id: string;
      sharing: "shared" | "private" | "locked";
      source: string;
      from?: From;
      readonly: boolean;
      mode: number;
      uid: number;
      gid: number;
    }
  | { type: "tmpfs"; target: string; size?: number }
  | { type: "secret"; id: string; target?: string; env?: string; required: boolean; mode: number; uid: number; gid: number };

export type Mount = MountOf<ImageSource>;

export interface RunStep extends StepBase {
  kind: "run";
  command: Command;
  heredocs: HeredocFile[];
  mounts: Mount[];
  network: "default" | "none" | "host";
  /** ARG values visible to this RUN (declared in the stage, not overridden by ENV); not kept in the image. */
  buildArgs: Record<string, string>;
}

export interface CopyStep extends StepBase {
  kind: "copy" | "add";
  /** Source patterns relative to the context (or to `from`), expanded; empty when only heredocs are copied. */
  sources: string[];
  /** Inline files from heredocs (`COPY <<EOF /path`). */
  heredocs: HeredocFile[];
  dest: string;
  from?: ImageSource;
  chown?: string;
  chmod?: string;
  link: boolean;
  /** ADD only. */
  checksum?: string;
  keepGitDir?: boolean;
}

export interface EnvStep extends StepBase {
  kind: "env";
  vars: [string, string][];
}
export interface ArgStep extends StepBase {
  kind: "arg";
  /** Each declared ARG with the value it has from here on (undefined: declared without a value). */
  args: { name: string; value: string | undefined }[];
}
export interface LabelStep extends StepBase {
  kind: "label";
  labels: [string, string][];
}
export interface WorkdirStep extends StepBase {
  kind: "workdir";
  /** As written after expansion; a relative path is relative to the current working directory. */
  path: string;
}
export interface UserStep extends StepBase {
  kind: "user";
  user: string;
}
export interface ExposeStep extends StepBase {
  kind: "expose";
  /** `80/tcp` form, protocol added when missing. */
  ports: string[];
}
export interface VolumeStep extends StepBase {
  kind: "volume";
  paths: string[];
}
export interface StopSignalStep extends StepBase {
  kind: "stopsignal";
  signal: string;
}
export interface CmdStep extends StepBase {
  kind: "cmd" | "entrypoint";
  command: Command;
}
export interface ShellStep extends StepBase {
  kind: "shell";
  shell: string[];
}
export interface HealthcheckStep extends StepBase {
  kind: "healthcheck";
  /** Docker's config form: ["NONE"], ["CMD", ...argv] or ["CMD-SHELL", script]. */
  test: string[];
  /** Nanoseconds, as the image config keeps them; absent means the default. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}
export interface OnbuildStep extends StepBase {
  kind: "onbuild";
  /** The trigger as written (`RUN echo hi`), kept for the image config. */
  trigger: string;
}
export interface MaintainerStep extends StepBase {
  kind: "maintainer";
  author: string;
}

export type Step =
  | RunStep
  | CopyStep
  | EnvStep
  | ArgStep
  | LabelStep
  | WorkdirStep
  | UserStep
  | ExposeStep
  | VolumeStep
  | StopSignalStep
  | CmdStep
  | ShellStep
  | HealthcheckStep
  | OnbuildStep
  | MaintainerStep;
