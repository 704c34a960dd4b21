// The image commands, as the docker CLI has them: pull, images (image ls),
// image inspect, tag, rmi (image rm), image prune, save, load, push, import.
// Each is a request to the daemon, which owns the image store (the routes:
// src/daemon/images-routes.ts); progress comes back streamed and is drawn here.
import { createReadStream, createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { CommitRequest, CommitResult, DockerConfigLocation, ImageImportResult, ImageInspectView, ImageLoadResult, ImageProgressMessage, ImagePruneResult, ImageRemoveResult, ImageRow } from "../daemon/api.js";
import { DaemonError, type DaemonClient } from "../daemon/client.js";
import type { ServiceSpec } from "../../model/stack.js";
import type { ProjectOptions } from "../stack/load.js";
import { confirm } from "./confirm.js";
import { CliError } from "./errors.js";
import { applyTemplate, formatTemplate } from "./image-format.js";
import { ProgressRenderer } from "./image-progress.js";
import { daemon } from "./project-name.js";
import { DRY_RUN_PREFIX } from "./progress.js";
import { humanDuration, humanSize, table } from "./format.js";

/** The daemon's answer as the command's error: its message alone, exit code 1, as when the CLI ran the image service itself. */
async function withDaemon<T>(fn: (client: DaemonClient) => Promise<T>): Promise<T> {
  try {
    return await fn(await daemon());
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(err instanceof Error ? err.message : String(err), 1, { cause: err });
  }
}

/** Where this user's docker config.json is: the daemon reads the logins there for a pull or push, and login writes it. */
export function dockerConfigLocation(env: NodeJS.ProcessEnv = process.env): DockerConfigLocation {
  return { ...(env.DOCKER_CONFIG ? { dockerConfig: env.DOCKER_CONFIG } : {}), ...(env.HOME ? { home: env.HOME } : {}) };
}

/** Follows a pull's or push's stream to its end; returns the name to print last. */
async function followProgress(messages: AsyncIterable<ImageProgressMessage>, onProgress?: (p: Extract<ImageProgressMessage, { type: "progress" }>) => void): Promise<string> {
  for await (const m of messages) {
    if (m.type === "progress") onProgress?.(m);
    else if (m.type === "done") return m.name;
    else throw new CliError(m.message);
  }
  throw new CliError("the daemon ended the stream without a result");
}

const pullStream = (client: DaemonClient, ref: string, platform: string | undefined): AsyncGenerator<ImageProgressMessage> =>
  client.stream<ImageProgressMessage>("POST", "/images/pull", { ref, ...(platform ? { platform } : {}), auth: dockerConfigLocation() });

// ---- pull

export interface PullFlags {
  platform?: string;
  quiet?: boolean;
  /** Services' pulls only: print the line of each, pull nothing. */
  dryRun?: boolean;
  /** compose pull's: skip the services that have build:. */
  ignoreBuildable?: boolean;
  /** compose pull's: report a failed pull, exit 0. */
  ignorePullFailures?: boolean;
  /** compose pull's: SERVICE... pulls their dependencies too. */
  includeDeps?: boolean;
  /** compose pull's --policy: replaces each service's pull_policy. */
  policy?: "missing" | "always";
}

async function pullOne(client: DaemonClient, ref: string, flags: PullFlags): Promise<void> {
  const renderer = new ProgressRenderer(process.stdout, { quiet: flags.quiet === true });
  renderer.done(await followProgress(pullStream(client, ref, flags.platform), (p) => renderer.update(p)));
}

/**
 * The stack's services NAMES means, or all with no name; undefined when the
 * names are not all services of a stack found here (then they are images, as
 * docker's pull and push take them). Shared by pull and push, so the two
 * decide alike.
 */
async function stackServices(project: ProjectOptions, names: string[], includeDeps: boolean, verb: string): Promise<ServiceSpec[] | undefined> {
  if (names.length > 0 && !names.every((n) => /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(n))) return undefined;
  try {
    const { loadStack } = await import("../stack/load.js");
    const { selectServices } = await import("../../model/dependencies.js");
    const { stack } = loadStack(project);
    if (names.length > 0 && !names.every((n) => n in stack.services)) return undefined;
    // As compose: SERVICE... alone, its dependencies only with --include-deps.
    return selectServices(stack, names, !includeDeps).map((n) => stack.services[n] as ServiceSpec);
  } catch (err) {
    if (names.length === 0) throw new CliError(`no image given and no stack to ${verb}: ${(err as Error).message}`, 1, { cause: err });
    return undefined;
  }
}

/** compose's "missing" check: a local image counts only with a tag other than latest (a :latest is pulled again). */
export function pinnedTag(image: string): boolean {
  if (image.includes("@")) return true;
  const last = image.slice(image.lastIndexOf("/") + 1);
  const colon = last.indexOf(":");
  return colon >= 0 && last.slice(colon + 1) !== "latest";
}

async function imagePresent(client: DaemonClient, ref: string): Promise<boolean> {
  try {
    await client.json("GET", `/images/inspect?ref=${encodeURIComponent(ref)}`);
    return true;
  } catch (err) {
    if (err instanceof DaemonError && err.status === 404) return false;
    throw err;
  }
}

/** Why compose pull leaves a service out, or undefined to pull it. */
async function pullSkip(client: DaemonClient, s: ServiceSpec, flags: PullFlags): Promise<string | undefined> {
  if (!s.image) return "Skipped - No image to be pulled";
  const policy = flags.policy ?? s.pullPolicy;
  if (policy === "never" || policy === "build") return "Skipped";
  if ((policy === "missing" || policy === "if_not_present") && pinnedTag(s.image) && (await imagePresent(client, s.image))) return "Skipped - Image is already present locally";
  if (s.build && flags.ignoreBuildable) return "Skipped - Image can be built";
  return undefined;
}

/**
 * `pull IMAGE` pulls one image, as docker pull. Without an image, inside a
 * stack directory, every service's image is pulled in parallel (compose
 * pull); names that are all services of the stack pull just those.
 */
export async function runPull(project: ProjectOptions, names: string[], flags: PullFlags): Promise<number> {
  const services = await stackServices(project, names, flags.includeDeps === true, "pull");
  if (!services) {
    const composeOnly = (["ignoreBuildable", "ignorePullFailures", "includeDeps", "policy"] as const).find((k) => flags[k] !== undefined && flags[k] !== false);
    if (composeOnly) throw new CliError(`--${composeOnly.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is docker compose pull's flag: name services of the stack, not images`);
    if (flags.dryRun) throw new CliError("--dry-run: only a stack's services can be pulled in dry run mode, not an image by name");
    if (names.length !== 1) throw new CliError(`"pull" requires exactly 1 image argument (got ${names.length})`);
    return withDaemon(async (client) => {
      await pullOne(client, names[0] as string, flags);
      return 0;
    });
  }
  if (flags.dryRun) {
    for (const s of services) if (!flags.quiet) process.stdout.write(s.image ? ` ${DRY_RUN_PREFIX} ${s.name} Pulled\n` : ` ${s.name} Skipped - No image to be pulled\n`);
    return 0;
  }
  return withDaemon(async (client) => {
    const say = (line: string): void => {
      if (!flags.quiet) process.stdout.write(`${line}\n`);
    };
    const errors: string[] = [];
    const mustBuild: string[] = [];
    // One pull per image: a second service of the same image waits for the first's, as compose says.
    const pulling = new Map<string, string>();
    const work: Promise<void>[] = [];
    for (const s of services) {
      const skip = await pullSkip(client, s, flags);
      const image = s.image as string;
      const first = pulling.get(image);
      if (skip !== undefined || first !== undefined) {
        say(` ${s.name} ${skip ?? `Skipped - Image is already being pulled by ${first}`}`);
        continue;
      }
      pulling.set(image, s.name);
      say(` ${s.name} Pulling`);
      work.push(
        followProgress(pullStream(client, image, flags.platform)).then(
          () => say(` ${s.name} Pulled`),
          (err: unknown) => {
            // A service that can be built only warns: `build` makes its image.
            say(` ${s.name} ${s.build ? "Warning" : "Error"}`);
            if (s.build) mustBuild.push(s.name);
            errors.push(`${s.name}: ${(err as Error).message}`);
          },
        ),
      );
    }
    await Promise.all(work);
    if (mustBuild.length > 0) process.stderr.write(`WARNING: Some service image(s) must be built from source by running:\n    tscompose build ${mustBuild.sort().join(" ")}\n`);
    for (const e of errors) process.stderr.write(`${flags.ignorePullFailures ? "WARN" : "Error:"} ${e}\n`);
    return errors.length > 0 && !flags.ignorePullFailures ? 1 : 0;
  });
}

// ---- images

export interface ImagesFlags {
  all?: boolean;
  quiet?: boolean;
  digests?: boolean;
  noTrunc?: boolean;
  format?: string;
}

/** A row as docker images' --format sees it (Go template fields). */
interface ImageFields {
  Repository: string;
  Tag: string;
  Digest: string;
  ID: string;
  CreatedAt: string;
  CreatedSince: string;
  Size: string;
  VirtualSize: string;
  SharedSize: string;
  UniqueSize: string;
  Containers: string;
}

/** "sha256:abc..." -> "abc..." (12 characters), Docker's short image ID. */
const shortImageId = (id: string): string => id.replace(/^sha256:/, "").slice(0, 12);

function fieldsOf(rows: ImageRow[], noTrunc: boolean): ImageFields[] {
  const now = Date.now();
  return rows.map((r) => {
    const created = r.created ? Date.parse(r.created) : NaN;
    return {
      Repository: r.repository,
      Tag: r.tag,
      Digest: r.digest,
      ID: noTrunc ? r.id : shortImageId(r.id),
      CreatedAt: Number.isNaN(created) ? "" : new Date(created).toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC"),
      CreatedSince: Number.isNaN(created) ? "N/A" : `${humanDuration(now - created)} ago`,
      Size: humanSize(r.size, 3),
      VirtualSize: humanSize(r.size, 3),
      SharedSize: "N/A",
      UniqueSize: "N/A",
      Containers: "N/A",
    };
  });
}

export async function runImages(filter: string | undefined, flags: ImagesFlags): Promise<number> {
  return withDaemon(async (client) => {
    const query = new URLSearchParams({ ...(filter ? { filter } : {}), ...(flags.all ? { all: "1" } : {}) }).toString();
    const rows = fieldsOf(await client.json<ImageRow[]>("GET", `/images/rows${query ? `?${query}` : ""}`), flags.noTrunc === true);
    let out: string;
    if (flags.quiet) {
      out = rows.map((r) => `${r.ID}\n`).join("");
    } else if (flags.format === "json") {
      out = rows.map((r) => `${JSON.stringify(r)}\n`).join("");
    } else if (formatTemplate(flags.format) !== undefined) {
      const template = formatTemplate(flags.format) as string;
      out = rows.map((r) => `${applyTemplate(template, r)}\n`).join("");
    } else {
      const headers = ["REPOSITORY", "TAG", ...(flags.digests ? ["DIGEST"] : []), "IMAGE ID", "CREATED", "SIZE"];
      out = table(
        headers,
        rows.map((r) => [r.Repository, r.Tag, ...(flags.digests ? [r.Digest] : []), r.ID, r.CreatedSince, r.Size]),
      );
    }
    process.stdout.write(out);
    return 0;
  });
}

// ---- inspect, tag, rmi, prune

export async function runImageInspect(names: string[], flags: { format?: string }): Promise<number> {
  return withDaemon(async (client) => {
    const found: ImageInspectView[] = [];
    const missing: string[] = [];
    for (const name of names) {
      try {
        found.push(await client.json<ImageInspectView>("GET", `/images/inspect?ref=${encodeURIComponent(name)}`));
      } catch (err) {
        if (!(err instanceof DaemonError && err.status === 404)) throw err;
        missing.push(name);
      }
    }
    if (flags.format) process.stdout.write(found.map((f) => `${applyTemplate(flags.format as string, f)}\n`).join(""));
    else process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
    for (const m of missing) process.stderr.write(`Error: No such image: ${m}\n`);
    return missing.length > 0 ? 1 : 0;
  });
}

export async function runTag(source: string, target: string): Promise<number> {
  return withDaemon(async (client) => {
    await client.json("POST", "/images/tag", { source, target });
    return 0;
  });
}

export async function runRmi(names: string[], flags: { force?: boolean }): Promise<number> {
  return withDaemon(async (client) => {
    let status = 0;
    for (const name of names) {
      try {
        const { report } = await client.json<ImageRemoveResult>("POST", "/images/remove", { ref: name, force: flags.force === true });
        process.stdout.write(report.map((l) => `${l}\n`).join(""));
      } catch (err) {
        process.stderr.write(`Error: ${(err as Error).message}\n`);
        status = 1;
      }
    }
    return status;
  });
}

export async function runImagePrune(flags: { all?: boolean; force?: boolean }): Promise<number> {
  if (!flags.force) {
    const what = flags.all ? "all images without at least one container associated to them" : "all dangling images";
    if (!(await confirm(`WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `))) return 0;
  }
  return withDaemon(async (client) => {
    const { report, reclaimedBytes } = await client.json<ImagePruneResult>("POST", `/images/prune${flags.all ? "?all=1" : ""}`);
    if (report.length > 0) {
      process.stdout.write(`Deleted Images:\n${report.map((l) => `${l.replace(/^(\w+):/, (_, w: string) => `${w.toLowerCase()}:`)}\n`).join("")}\n`);
    }
    process.stdout.write(`Total reclaimed space: ${humanSize(reclaimedBytes, 3)}\n`);
    return 0;
  });
}

// ---- save, load, push, import

export async function runSave(names: string[], flags: { output?: string }): Promise<number> {
  if (names.length === 0) throw new CliError('"save" requires at least 1 argument');
  if (!flags.output && process.stdout.isTTY) throw new CliError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  const path = `/images/save?${names.map((n) => `ref=${encodeURIComponent(n)}`).join("&")}`;
  return withDaemon(async (client) => {
    if (!flags.output) {
      await client.bytes("GET", path, process.stdout);
      return 0;
    }
    // Never leave half an archive under the name asked for.
    const tmp = `${flags.output}.tmp-${process.pid}`;
    try {
      await client.bytes("GET", path, createWriteStream(tmp));
      await rename(tmp, flags.output);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return 0;
  });
}

export async function runLoad(flags: { input?: string; quiet?: boolean }): Promise<number> {
  if (!flags.input && process.stdin.isTTY) throw new CliError("requested load from stdin, but stdin is empty");
  return withDaemon(async (client) => {
    const input: Readable = flags.input ? createReadStream(flags.input) : process.stdin;
    const result = await client.upload<ImageLoadResult>("POST", "/images/load", input);
    // -q only silences progress; the loaded names are the command's answer.
    process.stdout.write(result.messages.map((m) => `${m}\n`).join(""));
    return 0;
  });
}

export interface PushFlags {
  quiet?: boolean;
  /** compose push's: report a failed push, push the rest, exit 0. */
  ignorePushFailures?: boolean;
  /** compose push's: SERVICE... pushes their dependencies' images too. */
  includeDeps?: boolean;
}

/**
 * `push IMAGE` pushes one image, as docker push. Without an image, inside a
 * stack directory (or with names that are all services of it), it is compose's
 * push: the image: and build.tags of each service that has build:, in
 * parallel; the others are skipped.
 */
export async function runPush(project: ProjectOptions, names: string[], flags: PushFlags): Promise<number> {
  const services = await stackServices(project, names, flags.includeDeps === true, "push");
  if (!services) {
    if (flags.ignorePushFailures || flags.includeDeps) throw new CliError(`--${flags.includeDeps ? "include-deps" : "ignore-push-failures"} is docker compose push's flag: name services of the stack, not images`);
    if (names.length !== 1) throw new CliError(`"push" requires exactly 1 image argument (got ${names.length})`);
    return withDaemon(async (client) => {
      const renderer = new ProgressRenderer(process.stdout, { quiet: flags.quiet === true });
      const pushed = await followProgress(client.stream<ImageProgressMessage>("POST", "/images/push", { ref: names[0], auth: dockerConfigLocation() }), (p) => renderer.update(p));
      if (flags.quiet) renderer.done(pushed);
      return 0;
    });
  }
  return withDaemon(async (client) => {
    const say = (line: string): void => {
      if (!flags.quiet) process.stdout.write(`${line}\n`);
    };
    const errors: string[] = [];
    const work: Promise<void>[] = [];
    for (const s of services) {
      if (!s.build || !s.image) {
        say(` ${s.name} Skipped`);
        continue;
      }
      for (const tag of [...new Set([s.image, ...(s.build.tags ?? [])])]) {
        say(` ${s.name} Pushing ${tag}`);
        work.push(
          followProgress(client.stream<ImageProgressMessage>("POST", "/images/push", { ref: tag, auth: dockerConfigLocation() })).then(
            () => say(` ${s.name} Pushed ${tag}`),
            (err: unknown) => {
              say(` ${s.name} Error ${tag}`);
              errors.push(`Pushing ${s.name}: ${(err as Error).message}`);
            },
          ),
        );
      }
    }
    await Promise.all(work);
    for (const e of errors) process.stderr.write(`${flags.ignorePushFailures ? "WARN" : "Error:"} ${e}\n`);
    return errors.length > 0 && !flags.ignorePushFailures ? 1 : 0;
  });
}

/** `tscompose commit CONTAINER [REPOSITORY[:TAG]]`, docker's: prints the new image's ID. */
export async function runCommit(container: string, ref: string | undefined, flags: { author?: string; change?: string[]; message?: string; pause?: boolean }): Promise<number> {
  const body: CommitRequest = {
    ...(ref !== undefined ? { ref } : {}),
    ...(flags.author !== undefined ? { author: flags.author } : {}),
    ...(flags.message !== undefined ? { message: flags.message } : {}),
    ...(flags.change !== undefined && flags.change.length > 0 ? { changes: flags.change } : {}),
    ...(flags.pause !== undefined ? { pause: flags.pause } : {}),
  };
  return withDaemon(async (client) => {
    const { id } = await client.json<CommitResult>("POST", `/containers/${encodeURIComponent(container)}/commit`, body);
    process.stdout.write(`${id}\n`);
    return 0;
  });
}

export async function runImport(file: string, ref: string | undefined, flags: { change?: string[]; message?: string; platform?: string }): Promise<number> {
  const query = new URLSearchParams();
  if (ref !== undefined) query.set("ref", ref);
  if (flags.message !== undefined) query.set("message", flags.message);
  if (flags.platform !== undefined) query.set("platform", flags.platform);
  for (const c of flags.change ?? []) query.append("change", c);
  return withDaemon(async (client) => {
    const input: Readable = file === "-" ? process.stdin : createReadStream(file);
    const { id } = await client.upload<ImageImportResult>("POST", `/images/import?${query.toString()}`, input);
    process.stdout.write(`${id}\n`);
    return 0;
  });
}
