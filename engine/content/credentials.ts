// Registry credentials from Docker's client config ($DOCKER_CONFIG/config.json,
// else ~/.docker/config.json), so `docker login` works for us too. Read are
// the `auths` entries: base64 "user:password" in `auth`, or `username` and
// `password` fields. Credential helpers (credsStore, credHelpers) run external
// programs; they are not supported and only produce a warning.
import { readFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Credentials for a registry host ("127.0.0.1:5000", "docker.io"), or undefined for anonymous access. */
export type CredentialLookup = (host: string) => RegistryCredentials | undefined;

export const noCredentials: CredentialLookup = () => undefined;

// Docker stores Hub logins under its v1 index URL; any of these names mean Hub.
const HUB_NAMES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** Docker's ConvertToHostname: "https://host:5000/v1/" -> "host:5000"; Hub aliases -> "docker.io". */
export function credentialKey(entry: string): string {
  const host = entry.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split("/")[0]?.toLowerCase() ?? "";
  return HUB_NAMES.has(host) ? "docker.io" : host;
}

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

/** Parses the text of a Docker config.json; `source` names it in errors and warnings. */
export function parseDockerConfig(text: string, source: string, warn: (message: string) => void = () => {}): CredentialLookup {
  let config: { auths?: Record<string, AuthEntry>; credsStore?: unknown; credHelpers?: Record<string, unknown> };
  try {
    config = JSON.parse(text) as typeof config;
  } catch (err) {
    throw new Error(`${source}: invalid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!config || typeof config !== "object") throw new Error(`${source}: not a JSON object`);
  if (typeof config.credsStore === "string" && config.credsStore !== "") {
    warn(`${source}: credsStore ${JSON.stringify(config.credsStore)} is not supported; only credentials stored in "auths" are used`);
  }
  if (config.credHelpers && typeof config.credHelpers === "object" && Object.keys(config.credHelpers).length > 0) {
    warn(`${source}: credHelpers are not supported (${Object.keys(config.credHelpers).join(", ")}); only credentials stored in "auths" are used`);
  }
  const table = new Map<string, RegistryCredentials>();
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!entry || typeof entry !== "object") continue;
    let creds: RegistryCredentials | undefined;
    if (typeof entry.auth === "string" && entry.auth !== "") {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon <= 0) throw new Error(`${source}: the "auth" of ${key} is not base64 of "username:password"`);
      creds = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    } else if (typeof entry.username === "string" && typeof entry.password === "string" && entry.username !== "") {
      creds = { username: entry.username, password: entry.password };
    } else if (typeof entry.identitytoken === "string" && entry.identitytoken !== "") {
      warn(`${source}: the identity token for ${key} is not supported; pulls from it are anonymous`);
    }
    // The first entry for a host wins, like Docker's lookup through its normalized names.
    const host = credentialKey(key);
    if (creds && !table.has(host)) table.set(host, creds);
  }
  return (host) => table.get(credentialKey(host));
}

export interface LoadDockerConfigOptions {
  /** Path of config.json; default $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  warn?: (message: string) => void;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), ".docker");
  return path.join(dir, "config.json");
}

/** Loads credentials; a missing config file means no credentials, not an error. */
export async function loadDockerCredentials(opts: LoadDockerConfigOptions = {}): Promise<CredentialLookup> {
  const file = opts.path ?? dockerConfigPath(opts.env);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return noCredentials;
    throw err;
  }
  return parseDockerConfig(text, file, opts.warn);
}
