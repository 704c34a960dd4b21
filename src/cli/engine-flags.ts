// The global engine flags, as the docker CLI spells its connection flags:
// --engine (env TSCOMPOSE_ENGINE), -H/--host (env DOCKER_HOST), --tlsverify
// (env DOCKER_TLS_VERIFY) and --tlscacert/--tlscert/--tlskey (default: the
// files in $DOCKER_CERT_PATH, else ~/.docker). What the user said becomes the
// EngineChoice every request carries (api.ts ENGINE_HEADER); nothing said,
// nothing sent, and the daemon uses its default (daemon.json, else embedded).
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { EngineChoice } from "../daemon/api.js";
import { CliError } from "./errors.js";

export const ENGINE_KINDS = ["embedded", "docker", "swarm"] as const;

export interface EngineFlags {
  engine?: string;
  host?: string;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

export function engineChoiceFrom(flags: EngineFlags, env: NodeJS.ProcessEnv, cwd: string, home: string = homedir()): EngineChoice | undefined {
  const kind = flags.engine ?? (env.TSCOMPOSE_ENGINE || undefined);
  if (kind !== undefined && !(ENGINE_KINDS as readonly string[]).includes(kind)) {
    throw new CliError(`${flags.engine !== undefined ? "--engine" : "TSCOMPOSE_ENGINE"}=${kind}: the engines are ${ENGINE_KINDS.join(", ")}`);
  }
  const host = flags.host ?? (env.DOCKER_HOST || undefined);
  if (host !== undefined && !/^(unix|tcp):\/\/./.test(host)) throw new CliError(`${flags.host !== undefined ? "-H" : "DOCKER_HOST"}=${host}: only unix:///path and tcp://host:port are supported`);
  const certDir = env.DOCKER_CERT_PATH || undefined;
  const wantsTls = flags.tlsverify === true || (env.DOCKER_TLS_VERIFY ?? "") !== "" || certDir !== undefined || [flags.tlscacert, flags.tlscert, flags.tlskey].some((f) => f !== undefined);
  const dir = certDir ?? join(home, ".docker");
  // Absolute: the daemon reads them, from its own working directory.
  const tls = wantsTls ? { ca: resolve(cwd, flags.tlscacert ?? join(dir, "ca.pem")), cert: resolve(cwd, flags.tlscert ?? join(dir, "cert.pem")), key: resolve(cwd, flags.tlskey ?? join(dir, "key.pem")) } : undefined;
  if (kind === undefined && host === undefined && tls === undefined) return undefined;
  return { ...(kind !== undefined ? { kind } : {}), ...(host !== undefined ? { host } : {}), ...(tls ? { tls } : {}) };
}
