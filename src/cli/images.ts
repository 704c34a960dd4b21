// The image commands, as the docker CLI has them: pull, images (image ls),
// image inspect, tag, rmi (image rm), image prune, save, load, push, import.
// Each is a request to the daemon, which owns the image store (the routes:
// src/daemon/images-routes.ts); progress comes back streamed and is drawn here.
import { createReadStream, createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { CommitRequest, CommitResult, DockerConfigLocation, ImageImportResult, ImageInspectView, ImageLoadResult, ImageProgressMessage, ImagePruneResult, ImageRemoveResult, ImageRow } from "../daemon/api.js";
import { DaemonError, type DaemonClient } from "../daemon/client.js";
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
}

async function pullOne(client: DaemonClient, ref: string, flags: PullFlags): Promise<void> {
  const renderer = new ProgressRenderer(process.stdout, { quiet: flags.quiet === true });
  renderer.done(await followProgress(pullStream(client, ref, flags.platform), (p) => renderer.update(p)));
}

/**
 * `pull IMAGE` pulls one image, as docker pull. Without an image, inside a
 * stack directory, every service's image is pulled in parallel (compose
 * pull); names that are all services of the stack pull just those.
 */
export async function runPull(project: ProjectOptions, names: string[], flags: PullFlags): Promise<number> {
  let services: { name: string; image: string | undefined }[] | undefined;
  if (names.length === 0 || names.every((n) => /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(n))) {
    try {
      const { loadStack } = await import("../stack/load.js");
      const { stack } = loadStack(project);
      const all = Object.values(stack.services).map((s) => ({ name: s.name, image: s.image }));
      if (names.length === 0) services = all;
      else if (names.every((n) => all.some((s) => s.name === n))) services = all.filter((s) => names.includes(s.name));
    } catch (err) {
      if (names.length === 0) throw new CliError(`no image given and no stack to pull: ${(err as Error).message}`, 1, { cause: err });
    }
  }
  if (!services) {
    if (flags.dryRun) throw new CliError("--dry-run: only a stack's services can be pulled in dry run mode, not an image by name");
    if (names.length !== 1) throw new CliError(`"pull" requires exactly 1 image argument (got ${names.length})`);
    return withDaemon(async (client) => {
      await pullOne(client, names[0] as string, flags);
      return 0;
    });
  }
  const wanted = services;
  if (flags.dryRun) {
    for (const s of wanted) if (!flags.quiet) process.stdout.write(s.image ? ` ${DRY_RUN_PREFIX} ${s.name} Pulled\n` : ` ${s.name} Skipped - No image to be pulled\n`);
    return 0;
  }
  return withDaemon(async (client) => {
    const say = (line: string): void => {
      if (!flags.quiet) process.stdout.write(`${line}\n`);
    };
    const errors: string[] = [];
    // One pull per image, shared by the services that use it.
    const pulls = new Map<string, Promise<string>>();
    await Promise.all(
      wanted.map(async (s) => {
        if (!s.image) {
          say(` ${s.name} Skipped - No image to be pulled`);
          return;
        }
        const image = s.image;
        say(` ${s.name} Pulling`);
        let pull = pulls.get(image);
        if (!pull) {
          pull = followProgress(pullStream(client, image, flags.platform));
          pulls.set(image, pull);
        }
        try {
          await pull;
          say(` ${s.name} Pulled`);
        } catch (err) {
          say(` ${s.name} Error`);
          errors.push(`${s.name}: ${(err as Error).message}`);
        }
      }),
    );
    for (const e of errors) process.stderr.write(`Error: ${e}\n`);
    return errors.length > 0 ? 1 : 0;
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

export async function runPush(name: string, flags: { quiet?: boolean }): Promise<number> {
  return withDaemon(async (client) => {
    const renderer = new ProgressRenderer(process.stdout, { quiet: flags.quiet === true });
    const pushed = await followProgress(client.stream<ImageProgressMessage>("POST", "/images/push", { ref: name, auth: dockerConfigLocation() }), (p) => renderer.update(p));
    if (flags.quiet) renderer.done(pushed);
    return 0;
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
