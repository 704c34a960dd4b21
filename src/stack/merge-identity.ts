// Identities of sequence entries for the merge rules of sequences with unique
// entries (compose-go's unicity table): an entry of a later file replaces the
// earlier entry with the same identity in place, whatever syntax each uses
// (`"8080:80"` and `{target: 80, published: 8080}` are the same port).
import { isPlainDict as isDict, scalarText } from "./dict.js";

/** Identity of an entry compared as written. */
export const exact = (entry: unknown): string => (isDict(entry) || Array.isArray(entry) ? JSON.stringify(entry) : `${typeof entry}:${String(entry)}`);

/** A port's identity is host ip, published port(s), container port(s) and protocol. */
export function portIdentity(entry: unknown): string {
  if (typeof entry === "number") return `0.0.0.0::${entry}/tcp`;
  if (isDict(entry)) {
    if (entry.target === undefined) return exact(entry);
    const host = typeof entry.host_ip === "string" && entry.host_ip !== "" ? stripBrackets(entry.host_ip) : "0.0.0.0";
    const published = entry.published === undefined || entry.published === null ? "" : scalarText(entry.published);
    const protocol = typeof entry.protocol === "string" ? entry.protocol.toLowerCase() : "tcp";
    return `${host}:${published}:${scalarText(entry.target)}/${protocol}`;
  }
  if (typeof entry !== "string") return exact(entry);
  // [[host_ip:]published:]target[/protocol]; an IPv6 host may be bracketed.
  const slash = entry.lastIndexOf("/");
  const protocol = slash < 0 ? "tcp" : entry.slice(slash + 1).toLowerCase();
  let rest = slash < 0 ? entry : entry.slice(0, slash);
  let host = "";
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) return exact(entry);
    host = rest.slice(1, close);
    rest = rest.slice(close + 1).replace(/^:/, "");
  }
  const parts = rest.split(":");
  let published = "";
  let target = "";
  if (parts.length === 1) {
    target = parts[0] ?? "";
  } else {
    target = parts[parts.length - 1] ?? "";
    published = parts[parts.length - 2] ?? "";
    if (parts.length > 2) host = parts.slice(0, -2).join(":");
  }
  return `${host === "" ? "0.0.0.0" : host}:${published}:${target}/${protocol}`;
}

const stripBrackets = (s: string): string => (s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s);

/** `expose: [80]`, `["80"]` and `["80/tcp"]` are the same port. */
export function exposeIdentity(entry: unknown): string {
  const s = String(entry).toLowerCase();
  return s.includes("/") ? s : `${s}/tcp`;
}

/** A service volume's identity is its mount target in the container. */
export function volumeIdentity(entry: unknown): string {
  if (isDict(entry)) return typeof entry.target === "string" ? cleanTarget(entry.target) : exact(entry);
  if (typeof entry !== "string") return exact(entry);
  const sections = splitVolumeSpec(entry);
  // `/data` alone is an anonymous volume: the only section is the target.
  const target = sections.length === 1 ? sections[0] : sections[1];
  return cleanTarget(target ?? entry);
}

// Splits `source:target:options` on colons, keeping a Windows drive letter
// (`C:\data:/data`) with its path, as compose-go's ParseVolume does.
function splitVolumeSpec(spec: string): string[] {
  if (spec.length <= 2) return [spec];
  const sections: string[] = [];
  let buf = "";
  for (const ch of spec) {
    if (ch === ":" && !(buf.length === 1 && /^[a-z]$/i.test(buf))) {
      sections.push(buf);
      buf = "";
    } else {
      buf += ch;
    }
  }
  sections.push(buf);
  return sections;
}

function cleanTarget(target: string): string {
  // Same as Go's path.Clean for the cases that matter: `/data/` and `/data` are one mount.
  const parts: string[] = [];
  for (const seg of target.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === ".." && parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
    else parts.push(seg);
  }
  const joined = parts.join("/");
  return target.startsWith("/") ? `/${joined}` : joined || ".";
}

export function deviceIdentity(entry: unknown): string {
  if (isDict(entry)) return typeof entry.target === "string" ? entry.target : exact(entry);
  if (typeof entry !== "string") return exact(entry);
  const parts = entry.split(":");
  return parts.length === 1 ? entry : (parts[1] ?? entry);
}

/** A mounted secret's identity is its path in the container; the default is /run/secrets/<source>. */
export function secretIdentity(entry: unknown): string {
  if (typeof entry === "string") return `/run/secrets/${entry}`;
  if (!isDict(entry)) return exact(entry);
  if (typeof entry.target === "string" && entry.target !== "") {
    return entry.target.startsWith("/") ? entry.target : `/run/secrets/${entry.target}`;
  }
  return `/run/secrets/${String(entry.source)}`;
}

/** A config's default mount path is /<source>. */
export function configIdentity(entry: unknown): string {
  if (typeof entry === "string") return `/${entry}`;
  if (!isDict(entry)) return exact(entry);
  return typeof entry.target === "string" && entry.target !== "" ? entry.target : `/${String(entry.source)}`;
}

export function envFileIdentity(entry: unknown): string {
  if (typeof entry === "string") return entry;
  if (isDict(entry) && typeof entry.path === "string") return entry.path;
  return exact(entry);
}

/** `/run:size=64m` and `/run` mount at the same place: the later one wins. */
export function tmpfsIdentity(entry: unknown): string {
  return typeof entry === "string" ? (entry.split(":")[0] ?? entry) : exact(entry);
}


