// `login` and `logout` in the daemon: the credentials are checked against the
// registry by the request's engine (the embedded one with the daemon's
// registry config: mirrors, insecure registries; a dockerd by its /auth),
// then written to the user's docker config.json ($DOCKER_CONFIG/config.json,
// else ~/.docker/config.json, from the client's environment) the way the
// docker CLI writes it: auths["<registry>"] = {"auth": base64("user:password")},
// Docker Hub under "https://index.docker.io/v1/", every other key kept.
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { dockerConfigPath, loadDockerCredentials, type CredentialLookup } from "../../engine/content/credentials.js";
import { loginServer } from "../../engine/image/login.js";
import { writeFileAtomic } from "../../engine/sys/atomic-file.js";
import { EngineError } from "../../engine/errors.js";
import { kindOf } from "../../model/errors.js";
import type { DockerConfigLocation, LoginRequest, LoginResult, LogoutRequest, LogoutResult } from "./api.js";
import { HttpError } from "./http.js";

type DockerConfig = { auths?: Record<string, Record<string, unknown>> } & Record<string, unknown>;

/** The client's config.json: its DOCKER_CONFIG and HOME, as the docker CLI finds it. */
export function configFileOf(where: DockerConfigLocation | undefined): string {
  return dockerConfigPath({ ...(where?.dockerConfig ? { DOCKER_CONFIG: where.dockerConfig } : {}), ...(where?.home ? { HOME: where.home } : {}) });
}

/** The logins of the client's user, for one pull or push; none given: the daemon's own only. */
export async function clientCredentials(where: DockerConfigLocation | undefined, warn: (message: string) => void): Promise<CredentialLookup | undefined> {
  return where ? loadDockerCredentials({ path: configFileOf(where), warn }) : undefined;
}

async function readConfig(file: string): Promise<DockerConfig> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as DockerConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new HttpError(400, `${file}: ${(err as Error).message}`);
  }
}

async function writeConfig(file: string, config: DockerConfig): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(config, null, "\t")}\n`);
}

/** Asks the registry (through the request's engine) whether it takes these credentials. */
export type LoginCheck = (server: string | undefined, credentials: { username: string; password: string }) => Promise<void>;

export async function login(request: LoginRequest, check: LoginCheck): Promise<LoginResult> {
  const file = configFileOf(request.auth);
  // Read first: a config.json that does not parse is refused before the registry is asked.
  const docker = await readConfig(file);
  try {
    await check(request.server, { username: request.username, password: request.password });
  } catch (err) {
    // Refused credentials answer 401, an unreachable registry 503: the kind's status (http.ts).
    throw new EngineError(kindOf(err), `Error response from registry: ${(err as Error).message}`, { cause: err });
  }
  const { key } = loginServer(request.server);
  docker.auths = { ...(docker.auths ?? {}), [key]: { auth: Buffer.from(`${request.username}:${request.password}`).toString("base64") } };
  await writeConfig(file, docker);
  return { file };
}

export async function logout(request: LogoutRequest): Promise<LogoutResult> {
  const file = configFileOf(request.auth);
  const docker = await readConfig(file);
  const { key, domain } = loginServer(request.server);
  const name = domain === "docker.io" ? key : domain;
  // Entries written by other tools may carry a scheme or a path: any spelling of the host counts.
  const matching = Object.keys(docker.auths ?? {}).filter((k) => loginServer(k).key === key);
  if (matching.length === 0) return { removed: false, name };
  const auths = { ...(docker.auths ?? {}) };
  for (const k of matching) delete auths[k];
  docker.auths = auths;
  await writeConfig(file, docker);
  return { removed: true, name };
}
