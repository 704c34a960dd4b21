// Image references, parsed and normalized the way Docker does it
// (distribution/reference's ParseNormalizedNamed), so that a compose file means
// the same image here as under `docker compose`:
//
//   busybox                      -> docker.io/library/busybox:latest
//   user/app:1.2                 -> docker.io/user/app:1.2
//   localhost:5000/x             -> localhost:5000/x:latest
//   [::1]:5000/x@sha256:<hex>    -> pulled by digest
//   name:tag@sha256:<hex>        -> pulled by digest; the tag is kept for display
//
// Grammar (from distribution/reference):
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ domain "/" ] path
//   domain     := host [ ":" port ]          host: DNS-ish name, IPv4, or [IPv6]
//   path       := component ( "/" component )*
//   component  := [a-z0-9]+ ( separator [a-z0-9]+ )*   separator: "." | "_" | "__" | "-"+
//   tag        := [\w][\w.-]{0,127}
//
// Whether the first path element is a registry host is decided by looking at
// it, not by the grammar: it is a host when it is "localhost", contains "." or
// ":", or has an uppercase letter; otherwise the image lives on Docker Hub.
//
// Deliberate differences from Docker, both in the direction of refusing
// references Docker would accept but could never pull:
// - "registry-1.docker.io/x" is Docker Hub (Docker treats it as a separate
//   registry, where "x" then lacks its "library/" prefix).
// - A first element that looks like a host but is not a valid one
//   ("foo_bar.com/x") is an error; Docker silently keeps it as a domain-less
//   path that no registry lookup can resolve.
// - Only sha256 digests are accepted (see digest.ts).
import { ContentError } from "./types.js";
import type { Digest } from "./types.js";
import { parseDigest } from "./digest.js";
import type { KindedError } from "../errors.js";

export const DEFAULT_DOMAIN = "docker.io";
export const DEFAULT_TAG = "latest";
/** The host that actually serves Docker Hub's registry API. */
export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";
/** Longest repository path (including "library/") Docker accepts. */
export const MAX_PATH_LENGTH = 255;

const OFFICIAL_PREFIX = "library/";
const HUB_ALIASES = new Set(["index.docker.io", DOCKER_HUB_REGISTRY]);

export interface ImageReference {
  /** Registry host with optional port: "docker.io", "localhost:5000", "[::1]:5000". */
  readonly domain: string;
  /** Repository on that registry: "library/busybox", "user/app". */
  readonly path: string;
  /** Absent when none was written; "latest" is applied only when resolving or displaying the full name. */
  readonly tag?: string;
  /** When present it decides what is pulled, whatever the tag says. */
  readonly digest?: Digest;
}

export class InvalidReferenceError extends Error implements KindedError {
  readonly kind = "invalid";

  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`invalid reference format: ${reason}`);
    this.name = "InvalidReferenceError";
  }
}

// The regular expressions of distribution/reference's regexp.go, rebuilt from
// the same pieces so they can be checked against it line by line.
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6Address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainAndPort = `(?:${domainName}|${ipv6Address})(?::[0-9]+)?`;
const tagPattern = "[\\w][\\w.-]{0,127}";
const digestPattern = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";

const DOMAIN = new RegExp(`^${domainAndPort}$`);
const REMOTE_NAME = new RegExp(`^${remoteName}$`);
const TAG = new RegExp(`^${tagPattern}$`);
const DIGEST = new RegExp(`^${digestPattern}$`);
// Everything after the domain: path, optional tag, optional digest.
const REMAINDER = new RegExp(`^(${remoteName})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
// A bare 64-hex string is an image ID, never a name.
const IDENTIFIER = /^[a-f0-9]{64}$/;

/**
 * Parses a reference as a user writes it (`busybox`, `user/app:1`,
 * `localhost:5000/x@sha256:...`) into its normalized parts. Throws
 * InvalidReferenceError whose message starts with "invalid reference format:".
 */
export function parseReference(input: string): ImageReference {
  if (input === "") {
    throw new InvalidReferenceError(input, "repository name must have at least one component");
  }
  if (IDENTIFIER.test(input)) {
    throw new InvalidReferenceError(
      input,
      `invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`,
    );
  }
  const { domain, remainder } = splitDockerDomain(input);

  // Checked before the grammar, as Docker does, so "Busybox" gets the helpful
  // message instead of a bare "invalid reference format".
  const pathEnd = remainder.search(/[:@]/);
  const rawPath = pathEnd < 0 ? remainder : remainder.slice(0, pathEnd);
  if (rawPath.toLowerCase() !== rawPath) {
    throw new InvalidReferenceError(input, `repository name (${rawPath}) must be lowercase`);
  }

  const match = REMAINDER.exec(remainder);
  if (!match || !DOMAIN.test(domain)) throw diagnose(input, domain, remainder);
  const [, path = "", tag, digestText] = match;
  if (path.length > MAX_PATH_LENGTH) {
    throw new InvalidReferenceError(
      input,
      `repository name must not be more than ${MAX_PATH_LENGTH} characters (${JSON.stringify(path)} has ${path.length})`,
    );
  }

  let digest: Digest | undefined;
  if (digestText !== undefined) {
    try {
      digest = parseDigest(digestText);
    } catch (error) {
      if (error instanceof ContentError) throw new InvalidReferenceError(input, error.message);
      throw error;
    }
  }
  return {
    domain,
    path,
    ...(tag !== undefined && { tag }),
    ...(digest !== undefined && { digest }),
  };
}

/** The registry host the reference names as written ("docker.io" for `docker.io/me/app`), undefined when it names none (`app`, `me/app`: Hub by default). */
export function writtenDomain(input: string): string | undefined {
  const slash = input.indexOf("/");
  if (slash < 0) return undefined;
  const first = input.slice(0, slash);
  const { domain } = splitDockerDomain(input);
  if (domain !== DEFAULT_DOMAIN) return domain;
  return first === DEFAULT_DOMAIN || HUB_ALIASES.has(first) ? first : undefined;
}

/** Splits off the registry host; Docker Hub names get "docker.io" and, when single-element, "library/". */
function splitDockerDomain(input: string): { domain: string; remainder: string } {
  const slash = input.indexOf("/");
  let domain = DEFAULT_DOMAIN;
  let remainder = input;
  if (slash >= 0) {
    const first = input.slice(0, slash);
    if (HUB_ALIASES.has(first)) {
      remainder = input.slice(slash + 1);
    } else if (first === "localhost" || /[.:]/.test(first) || first.toLowerCase() !== first) {
      // An uppercase first element cannot be a repository namespace, so Docker
      // takes it as a (local) host name.
      domain = first;
      remainder = input.slice(slash + 1);
    }
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

/** Finds which part of a reference the grammar rejected, for an error that says so. */
function diagnose(input: string, domain: string, remainder: string): InvalidReferenceError {
  const quoted = JSON.stringify(input);
  if (!DOMAIN.test(domain)) {
    return new InvalidReferenceError(input, `invalid registry host ${JSON.stringify(domain)} in ${quoted}`);
  }
  const at = remainder.indexOf("@");
  const nameAndTag = at < 0 ? remainder : remainder.slice(0, at);
  const colon = nameAndTag.indexOf(":");
  const path = colon < 0 ? nameAndTag : nameAndTag.slice(0, colon);
  if (!REMOTE_NAME.test(path)) {
    return new InvalidReferenceError(
      input,
      `invalid repository name ${JSON.stringify(path)} in ${quoted}: path components are lowercase letters and digits, ` +
        `separated by "/" and joined by ".", "_", "__" or "-"`,
    );
  }
  if (colon >= 0) {
    const tag = nameAndTag.slice(colon + 1);
    if (!TAG.test(tag)) {
      return new InvalidReferenceError(
        input,
        `invalid tag ${JSON.stringify(tag)} in ${quoted}: a tag is 1 to 128 letters, digits, "_", "." or "-", ` +
          `not starting with "." or "-"`,
      );
    }
  }
  if (at >= 0) {
    const digest = remainder.slice(at + 1);
    if (!DIGEST.test(digest)) {
      return new InvalidReferenceError(
        input,
        `invalid digest ${JSON.stringify(digest)} in ${quoted}: expected "sha256:<64 hex>"`,
      );
    }
  }
  return new InvalidReferenceError(input, quoted);
}

/** "docker.io/library/busybox": registry and repository, no tag or digest. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/**
 * The full normalized reference, with the default tag applied when neither tag
 * nor digest was given: "docker.io/library/busybox:latest". Two spellings of
 * the same image ("busybox", "docker.io/library/busybox:latest") give the same
 * string, so this is the key for comparing and storing references.
 */
export function normalizedName(ref: ImageReference): string {
  if (ref.tag === undefined && ref.digest === undefined) return `${repositoryName(ref)}:${DEFAULT_TAG}`;
  return referenceString(ref);
}

/** The full reference exactly as parsed, without a default tag: "docker.io/library/busybox". */
export function referenceString(ref: ImageReference): string {
  let out = repositoryName(ref);
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/**
 * Docker's short display form (FamiliarString): Docker Hub's domain and the
 * "library/" of official images dropped, tag and digest as written:
 * "busybox:latest", "user/app", "localhost:5000/x:1".
 */
export function familiarName(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.domain === DEFAULT_DOMAIN) {
    name = ref.path;
    const rest = ref.path.startsWith(OFFICIAL_PREFIX) ? ref.path.slice(OFFICIAL_PREFIX.length) : undefined;
    // "library/a/b" keeps its prefix: dropping it would read as user "a".
    if (rest !== undefined && !rest.includes("/")) name = rest;
  }
  if (ref.tag !== undefined) name += `:${ref.tag}`;
  if (ref.digest !== undefined) name += `@${ref.digest}`;
  return name;
}

/** What to ask the registry's manifest endpoint for: the digest when pinned, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** The host serving the distribution API for a reference's domain: Docker Hub is not at "docker.io". */
export function registryHost(domain: string): string {
  return domain === DEFAULT_DOMAIN || HUB_ALIASES.has(domain) ? DOCKER_HUB_REGISTRY : domain;
}
