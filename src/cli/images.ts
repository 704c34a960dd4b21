// The image commands, as the docker CLI has them: pull, images (image ls),
// image inspect, tag, rmi (image rm), image prune, save, load, push, import.
// They run the image service in this process for now (engine-config.ts).
import { createReadStream, createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import type { Readable } from "node:stream";
import { familiarName, normalizedName, parseReference, referenceString } from "../../engine/content/reference.js";
import type { ImageService } from "../../engine/image/service.js";
import { humanSize, ProgressRenderer } from "../../engine/image/progress.js";
import { shortDigest, unpackedSize, type ImageEntry } from "../../engine/image/types.js";
import type { ProjectOptions } from "../stack/load.js";
import { openImageService } from "./engine-config.js";
import { confirm } from "./confirm.js";
import { CliError } from "./errors.js";
import { applyTemplate, formatTemplate } from "./image-format.js";
import { DRY_RUN_PREFIX } from "./progress.js";
import { humanDuration, table } from "./format.js";

async function withService<T>(fn: (svc: ImageService) => Promise<T>): Promise<T> {
  const svc = await openImageService();
  try {
    return await fn(svc);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(err instanceof Error ? err.message : String(err), 1, { cause: err });
  } finally {
    await svc.close();
  }
}

const inUse = (svc: ImageService) => (id: string) => svc.usedBySnapshots(id);

// ---- pull

export interface PullFlags {
  platform?: string;
  quiet?: boolean;
  /** Services' pulls only: print the line of each, pull nothing. */
  dryRun?: boolean;
}

/** The reference as docker prints it after a pull: "docker.io/library/busybox:latest". */
function pulledName(ref: string): string {
  const r = parseReference(ref);
  return r.digest !== undefined ? referenceString({ domain: r.domain, path: r.path, digest: r.digest }) : normalizedName(r);
}

async function pullOne(svc: ImageService, ref: string, flags: PullFlags): Promise<void> {
  const renderer = new ProgressRenderer(process.stdout, { quiet: flags.quiet === true });
  await svc.pull(ref, { ...(flags.platform ? { platform: flags.platform } : {}), onProgress: (p) => renderer.update(p) });
  renderer.done(pulledName(ref));
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
    return withService(async (svc) => {
      await pullOne(svc, names[0] as string, flags);
      return 0;
    });
  }
  const wanted = services;
  if (flags.dryRun) {
    for (const s of wanted) if (!flags.quiet) process.stdout.write(s.image ? ` ${DRY_RUN_PREFIX} ${s.name} Pulled\n` : ` ${s.name} Skipped - No image to be pulled\n`);
    return 0;
  }
  return withService(async (svc) => {
    const say = (line: string): void => {
      if (!flags.quiet) process.stdout.write(`${line}\n`);
    };
    const errors: string[] = [];
    // One pull per image, shared by the services that use it.
    const pulls = new Map<string, Promise<void>>();
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
          pull = svc.pull(image, flags.platform ? { platform: flags.platform } : {}).then(() => undefined);
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

interface ImageRow {
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

function rowsOf(entries: ImageEntry[], noTrunc: boolean, filter: string | undefined): ImageRow[] {
  const now = Date.now();
  const rows: ImageRow[] = [];
  let match: ((repo: string, tag: string) => boolean) | undefined;
  if (filter) {
    const colon = filter.lastIndexOf(":");
    const hasTag = colon > filter.lastIndexOf("/");
    const repo = familiarName({ ...parseReference(hasTag ? filter.slice(0, colon) : filter), tag: undefined, digest: undefined });
    const tag = hasTag ? filter.slice(colon + 1) : undefined;
    match = (r, t) => r === repo && (tag === undefined || t === tag);
  }
  for (const { record, tags, digests } of entries) {
    const created = record.created ? Date.parse(record.created) : NaN;
    const base = {
      ID: noTrunc ? record.id : shortDigest(record.id),
      CreatedAt: Number.isNaN(created) ? "" : new Date(created).toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC"),
      CreatedSince: Number.isNaN(created) ? "N/A" : `${humanDuration(now - created)} ago`,
      Size: humanSize(unpackedSize(record), 3),
      VirtualSize: humanSize(unpackedSize(record), 3),
      SharedSize: "N/A",
      UniqueSize: "N/A",
      Containers: "N/A",
    };
    const digestOf = (repo: string): string => digests.map((d) => parseReference(d)).find((d) => familiarName({ ...d, digest: undefined }) === repo)?.digest ?? "<none>";
    const imageRows: ImageRow[] = [];
    for (const t of tags) {
      const ref = parseReference(t);
      const repo = familiarName({ domain: ref.domain, path: ref.path });
      imageRows.push({ ...base, Repository: repo, Tag: ref.tag ?? "latest", Digest: digestOf(repo) });
    }
    if (tags.length === 0) {
      // Pulled by digest only: the repository with a <none> tag; nothing at all: <none> <none>.
      const byRepo = new Map(digests.map((d) => parseReference(d)).map((d) => [familiarName({ domain: d.domain, path: d.path }), d.digest ?? "<none>"]));
      for (const [repo, digest] of byRepo) imageRows.push({ ...base, Repository: repo, Tag: "<none>", Digest: digest });
      if (byRepo.size === 0) imageRows.push({ ...base, Repository: "<none>", Tag: "<none>", Digest: "<none>" });
    }
    rows.push(...imageRows.filter((r) => !match || match(r.Repository, r.Tag)));
  }
  return rows;
}

export async function runImages(filter: string | undefined, flags: ImagesFlags): Promise<number> {
  return withService(async (svc) => {
    const rows = rowsOf(await svc.entries(), flags.noTrunc === true, filter);
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
  return withService(async (svc) => {
    const found: unknown[] = [];
    const missing: string[] = [];
    for (const name of names) {
      const info = await svc.inspect(name);
      if (info) found.push(info);
      else missing.push(name);
    }
    if (flags.format) process.stdout.write(found.map((f) => `${applyTemplate(flags.format as string, f)}\n`).join(""));
    else process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
    for (const m of missing) process.stderr.write(`Error: No such image: ${m}\n`);
    return missing.length > 0 ? 1 : 0;
  });
}

export async function runTag(source: string, target: string): Promise<number> {
  return withService(async (svc) => {
    await svc.tag(source, target);
    return 0;
  });
}

export async function runRmi(names: string[], flags: { force?: boolean }): Promise<number> {
  return withService(async (svc) => {
    let status = 0;
    for (const name of names) {
      try {
        const report = await svc.remove(name, { force: flags.force === true, inUse: inUse(svc) });
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
  return withService(async (svc) => {
    const { report, reclaimed } = await svc.prune({ all: flags.all === true, inUse: inUse(svc) });
    if (report.length > 0) {
      process.stdout.write(`Deleted Images:\n${report.map((l) => `${l.replace(/^(\w+):/, (_, w: string) => `${w.toLowerCase()}:`)}\n`).join("")}\n`);
    }
    process.stdout.write(`Total reclaimed space: ${humanSize(reclaimed, 3)}\n`);
    return 0;
  });
}

// ---- save, load, push, import

export async function runSave(names: string[], flags: { output?: string }): Promise<number> {
  if (names.length === 0) throw new CliError('"save" requires at least 1 argument');
  if (!flags.output && process.stdout.isTTY) throw new CliError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  return withService(async (svc) => {
    if (!flags.output) {
      await svc.save(names, process.stdout);
      return 0;
    }
    // Never leave half an archive under the name asked for.
    const tmp = `${flags.output}.tmp-${process.pid}`;
    try {
      await svc.save(names, createWriteStream(tmp));
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
  return withService(async (svc) => {
    const input: Readable = flags.input ? createReadStream(flags.input) : process.stdin;
    const result = await svc.load(input);
    // -q only silences progress; the loaded names are the command's answer.
    process.stdout.write(result.messages.map((m) => `${m}\n`).join(""));
    return 0;
  });
}

export async function runPush(name: string, flags: { quiet?: boolean }): Promise<number> {
  return withService(async (svc) => {
    const renderer = new ProgressRenderer(process.stdout, { quiet: flags.quiet === true });
    await svc.push(name, { onProgress: (p) => renderer.update(p) });
    if (flags.quiet) renderer.done(familiarName(parseReference(name)));
    return 0;
  });
}

export async function runImport(file: string, ref: string | undefined, flags: { change?: string[]; message?: string; platform?: string }): Promise<number> {
  return withService(async (svc) => {
    const input: Readable = file === "-" ? process.stdin : createReadStream(file);
    const id = await svc.import(input, {
      ...(ref !== undefined ? { ref } : {}),
      ...(flags.message !== undefined ? { message: flags.message } : {}),
      ...(flags.platform !== undefined ? { platform: flags.platform } : {}),
      changes: flags.change ?? [],
    });
    process.stdout.write(`${id}\n`);
    return 0;
  });
}
