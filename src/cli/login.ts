// `tscompose login` and `logout`, writing the docker CLI's config.json
// ($DOCKER_CONFIG/config.json, else ~/.docker/config.json) the way it does:
// auths["<registry>"] = {"auth": base64("user:password")}, Docker Hub under
// "https://index.docker.io/v1/", every other key of the file kept. The
// credentials are checked against the registry before they are stored.
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { dockerConfigPath } from "../../engine/content/credentials.js";
import { writeFileAtomic } from "../../engine/sys/atomic-file.js";
import { checkLogin, loginServer } from "../../engine/image/login.js";
import { engineLocation } from "./engine-config.js";
import { CliError } from "./errors.js";

type DockerConfig = { auths?: Record<string, Record<string, unknown>> } & Record<string, unknown>;

async function readConfig(file: string): Promise<DockerConfig> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as DockerConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CliError(`${file}: ${(err as Error).message}`, 1, { cause: err });
  }
}

async function writeConfig(file: string, config: DockerConfig): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(config, null, "\t")}\n`);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/** Asks on the terminal; the password is not echoed. */
async function prompt(question: string, secret: boolean): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
  if (secret && process.stdin.isTTY) {
    const output = rl as unknown as { _writeToOutput?: (s: string) => void };
    output._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stdout.write(question);
    };
  }
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      rl.once("close", () => resolve(""));
    });
  } finally {
    if (secret && process.stdin.isTTY) process.stdout.write("\n");
    rl.close();
  }
}

export interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

export async function runLogin(server: string | undefined, flags: LoginFlags): Promise<number> {
  if (flags.password !== undefined && flags.passwordStdin) throw new CliError("--password and --password-stdin are mutually exclusive");
  if (flags.passwordStdin && !flags.username) throw new CliError("Must provide --username with --password-stdin");
  if (flags.password !== undefined) process.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  const username = flags.username ?? (await prompt("Username: ", false)).trim();
  let password = flags.password;
  if (flags.passwordStdin) password = (await readAll(process.stdin)).replace(/\r?\n$/, "");
  password ??= await prompt("Password: ", true);
  if (!username || !password) throw new CliError("Error: Cannot perform an interactive login from a non TTY device, or username/password is empty");

  const { readEngineConfig } = await import("../../engine/config.js");
  const config = readEngineConfig(engineLocation().configFile);
  try {
    await checkLogin(server, { username, password }, { hosts: config.hosts, ...(config.dockerHubUrl ? { dockerHubUrl: config.dockerHubUrl } : {}) });
  } catch (err) {
    throw new CliError(`Error response from registry: ${(err as Error).message}`, 1, { cause: err });
  }
  const file = dockerConfigPath();
  const docker = await readConfig(file);
  const { key } = loginServer(server);
  docker.auths = { ...(docker.auths ?? {}), [key]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } };
  await writeConfig(file, docker);
  process.stderr.write(`WARNING! Your password will be stored unencrypted in ${file}.\n`);
  process.stdout.write("Login Succeeded\n");
  return 0;
}

export async function runLogout(server: string | undefined): Promise<number> {
  const file = dockerConfigPath();
  const docker = await readConfig(file);
  const { key, domain } = loginServer(server);
  // Entries written by other tools may carry a scheme or a path: any spelling of the host counts.
  const matching = Object.keys(docker.auths ?? {}).filter((k) => loginServer(k).key === key);
  if (matching.length === 0) {
    process.stdout.write(`Not logged in to ${domain === "docker.io" ? key : domain}\n`);
    return 0;
  }
  process.stdout.write(`Removing login credentials for ${domain === "docker.io" ? key : domain}\n`);
  const auths = { ...(docker.auths ?? {}) };
  for (const k of matching) delete auths[k];
  docker.auths = auths;
  await writeConfig(file, docker);
  return 0;
}
