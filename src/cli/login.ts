// `tscompose login` and `logout`. The daemon checks the credentials against
// the registry (with its registry config: mirrors, insecure registries) and
// writes them to this user's docker config.json ($DOCKER_CONFIG/config.json,
// else ~/.docker/config.json) the way the docker CLI does (see
// src/daemon/registry-login.ts); here the flags and the prompts.
import { createInterface } from "node:readline";
import type { LoginResult, LogoutResult } from "../daemon/api.js";
import { CliError } from "./errors.js";
import { dockerConfigLocation } from "./images.js";
import { daemon } from "./project-name.js";

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

  const client = await daemon();
  let result: LoginResult;
  try {
    result = await client.json<LoginResult>("POST", "/auth/login", { ...(server !== undefined ? { server } : {}), username, password, auth: dockerConfigLocation() });
  } catch (err) {
    throw new CliError((err as Error).message, 1, { cause: err });
  }
  process.stderr.write(`WARNING! Your password will be stored unencrypted in ${result.file}.\n`);
  process.stdout.write("Login Succeeded\n");
  return 0;
}

export async function runLogout(server: string | undefined): Promise<number> {
  const client = await daemon();
  let result: LogoutResult;
  try {
    result = await client.json<LogoutResult>("POST", "/auth/logout", { ...(server !== undefined ? { server } : {}), auth: dockerConfigLocation() });
  } catch (err) {
    throw new CliError((err as Error).message, 1, { cause: err });
  }
  process.stdout.write(result.removed ? `Removing login credentials for ${result.name}\n` : `Not logged in to ${result.name}\n`);
  return 0;
}
