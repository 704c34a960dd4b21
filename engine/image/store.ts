// The image store: image records and the references that name them.
//
//   <root>/by-id/<id hex>.json      one ImageRecord per image (immutable once written)
//   <root>/refs/<sha256(ref)>.json  {"ref": "docker.io/library/busybox:latest", "id": "sha256:..."}
//
// One file per reference, not one table of them: setting a tag is a single
// atomic rename that touches no other reference, so two processes tagging
// different names at once cannot lose each other's update, and kill -9 at any
// moment leaves every file whole (engine/sys/atomic-file.ts). Ref file names are a hash of
// the reference because references can be longer than a file name may be.
//
// Order of writes makes crashes harmless: an image's blobs and layers exist
// before its record, and its record before any reference to it. A crash in
// between leaves unreferenced content (reused by the next pull) or a dangling
// image (shown as <none>, removed by prune), never a reference to nothing.
import { createHash } from "node:crypto";
import { mkdir, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isDigest } from "../content/digest.js";
import { parseReference, repositoryName, DEFAULT_TAG, type ImageReference } from "../content/reference.js";
import type { Digest } from "../content/types.js";
import { EngineError } from "../types.js";
import { cleanTemp, readJsonFile, TEMP_PREFIX, writeFileAtomic } from "../sys/atomic-file.js";
import { KeyedMutex } from "../sys/keyed-mutex.js";
import type { ImageEntry, ImageRecord } from "./types.js";

interface RefFile {
  ref: string;
  id: Digest;
  /** When a pull last set it (ISO time): pull_policy daily/weekly/every_ pull again past their age. */
  pulledAt?: string;
}

// A writer killed mid-write leaves a temp file; one this old is certainly dead.
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * The key a reference is stored under: "repo@digest" when pinned (the tag
 * of "name:tag@digest" is decoration, as in Docker), else "repo:tag".
 */
export function refKey(ref: ImageReference | string): string {
  const r = typeof ref === "string" ? parseReference(ref) : ref;
  return r.digest !== undefined ? `${repositoryName(r)}@${r.digest}` : `${repositoryName(r)}:${r.tag ?? DEFAULT_TAG}`;
}

export const isDigestRef = (key: string): boolean => key.includes("@");

export class ImageStore {
  readonly root: string;
  readonly #sync: boolean;
  readonly #refLocks = new KeyedMutex();

  private constructor(root: string, sync: boolean) {
    this.root = root;
    this.#sync = sync;
  }

  static async open(root: string, opts: { sync?: boolean } = {}): Promise<ImageStore> {
    const store = new ImageStore(root, opts.sync ?? true);
    await mkdir(root, { recursive: true, mode: 0o700 });
    await mkdir(store.#imagesDir, { recursive: true });
    await mkdir(store.#refsDir, { recursive: true });
    await cleanTemp(store.#imagesDir, STALE_TEMP_MS);
    await cleanTemp(store.#refsDir, STALE_TEMP_MS);
    return store;
  }

  get #imagesDir(): string {
    return join(this.root, "by-id");
  }

  get #refsDir(): string {
    return join(this.root, "refs");
  }

  #recordPath(id: Digest): string {
    return join(this.#imagesDir, `${id.slice(7)}.json`);
  }

  #refPath(key: string): string {
    return join(this.#refsDir, `${createHash("sha256").update(key).digest("hex")}.json`);
  }

  // ---- records

  async get(id: Digest): Promise<ImageRecord | undefined> {
    if (!isDigest(id)) return undefined;
    return readJsonFile<ImageRecord>(this.#recordPath(id));
  }

  async put(record: ImageRecord): Promise<void> {
    await writeFileAtomic(this.#recordPath(record.id), JSON.stringify(record), { sync: this.#sync });
  }

  async delete(id: Digest): Promise<void> {
    await unlink(this.#recordPath(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }

  async list(): Promise<ImageRecord[]> {
    const out: ImageRecord[] = [];
    for (const name of await readdir(this.#imagesDir)) {
      if (name.startsWith(TEMP_PREFIX) || !name.endsWith(".json")) continue;
      const record = await this.get(`sha256:${name.slice(0, -5)}`);
      if (record) out.push(record);
    }
    return out;
  }

  // ---- references

  /** Every reference and the image it names. */
  async refs(): Promise<Map<string, Digest>> {
    const out = new Map<string, Digest>();
    for (const name of await readdir(this.#refsDir)) {
      if (name.startsWith(TEMP_PREFIX) || !name.endsWith(".json")) continue;
      const file = await readJsonFile<RefFile>(join(this.#refsDir, name)).catch(() => undefined);
      if (file && typeof file.ref === "string" && isDigest(file.id)) out.set(file.ref, file.id);
    }
    return out;
  }

  async getRef(ref: ImageReference | string): Promise<Digest | undefined> {
    const key = refKey(ref);
    return (await readJsonFile<RefFile>(this.#refPath(key)))?.id;
  }

  /** Points `ref` at image `id`; returns the image it named before, if any. A pull gives its time, kept with the reference. */
  async setRef(ref: ImageReference | string, id: Digest, opts: { pulledAt?: string } = {}): Promise<Digest | undefined> {
    const key = refKey(ref);
    return this.#refLocks.run(key, async () => {
      const previous = (await readJsonFile<RefFile>(this.#refPath(key)))?.id;
      if (previous !== id || opts.pulledAt !== undefined) {
        const file: RefFile = { ref: key, id, ...(opts.pulledAt !== undefined ? { pulledAt: opts.pulledAt } : {}) };
        await writeFileAtomic(this.#refPath(key), JSON.stringify(file), { sync: this.#sync });
      }
      return previous;
    });
  }

  /** When a pull last set `ref`, if one did. */
  async refPulledAt(ref: ImageReference | string): Promise<string | undefined> {
    const file = await readJsonFile<RefFile>(this.#refPath(refKey(ref))).catch(() => undefined);
    return typeof file?.pulledAt === "string" ? file.pulledAt : undefined;
  }

  /** Removes a reference; returns the image it named, or undefined if it did not exist. */
  async deleteRef(ref: ImageReference | string): Promise<Digest | undefined> {
    const key = refKey(ref);
    return this.#refLocks.run(key, async () => {
      const path = this.#refPath(key);
      const previous = (await readJsonFile<RefFile>(path))?.id;
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      return previous;
    });
  }

  /** Every image with its references. References to missing records are left out. */
  async entries(): Promise<ImageEntry[]> {
    const [records, refs] = await Promise.all([this.list(), this.refs()]);
    const byId = new Map(records.map((r) => [r.id, { record: r, tags: [] as string[], digests: [] as string[] }]));
    for (const [ref, id] of refs) {
      const entry = byId.get(id);
      if (!entry) continue;
      (isDigestRef(ref) ? entry.digests : entry.tags).push(ref);
    }
    for (const e of byId.values()) {
      e.tags.sort();
      e.digests.sort();
    }
    return [...byId.values()];
  }

  /**
   * Finds an image the way the docker CLI does: by reference ("busybox",
   * "busybox@sha256:..."), by full ID ("sha256:<hex>" or "<hex>"), or by a
   * unique prefix of the ID's hex. `ref` is set when a reference matched.
   * An ambiguous prefix is an error, not a guess.
   */
  async lookup(input: string): Promise<{ id: Digest; ref?: string } | undefined> {
    let reference: ImageReference | undefined;
    try {
      reference = parseReference(input);
    } catch {
      reference = undefined;
    }
    if (reference) {
      const key = refKey(reference);
      const id = await this.getRef(key);
      if (id && (await this.get(id))) return { id, ref: key };
    }
    const hex = input.replace(/^sha256:/, "");
    if (!/^[a-f0-9]{1,64}$/.test(hex)) return undefined;
    if (hex.length === 64) {
      const id: Digest = `sha256:${hex}`;
      return (await this.get(id)) ? { id } : undefined;
    }
    const matches = (await readdir(this.#imagesDir)).filter((n) => n.startsWith(hex) && n.endsWith(".json"));
    if (matches.length === 1 && matches[0]) return { id: `sha256:${matches[0].slice(0, -5)}` };
    if (matches.length > 1) throw new EngineError("invalid", `the image ID prefix ${JSON.stringify(input)} matches more than one image; give more characters`);
    return undefined;
  }
}
