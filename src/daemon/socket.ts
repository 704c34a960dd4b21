// The API socket, created with its final mode and group. Whoever can connect
// to it controls the daemon, and through it root on this machine (a stack can
// bind-mount / and run privileged): it must never exist, even for an instant,
// with the mode the process's umask would give it. node's server.listen has no
// mode for unix sockets, and changing the umask around it would also change
// the mode of every file the daemon's other work creates meanwhile (the umask
// is per process, and libuv's threads create files concurrently). So the
// socket is bound inside a fresh 0700 directory, given its mode and group
// there, and renamed into place, which also replaces a stale socket atomically.
import { chmodSync, chownSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { basename, dirname, join } from "node:path";
import { CommandNotFoundError, run } from "../../engine/sys/exec.js";

export const SOCKET_MODE = 0o660;

/** Listens on `socket` (mode 0660, owner root, group `gid` or root's); resolves once it accepts connections there. */
export function listenPrivately(server: Server, socket: string, gid?: number): Promise<void> {
  // mkdtemp makes the directory 0700 whatever the umask; on the socket's filesystem, so rename works.
  const privateDir = mkdtempSync(join(dirname(socket), `.${basename(socket)}-`));
  const bound = join(privateDir, "s");
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => rmSync(privateDir, { recursive: true, force: true });
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    server.once("error", onError);
    server.listen(bound, () => {
      server.off("error", onError);
      try {
        chmodSync(bound, SOCKET_MODE);
        if (gid !== undefined) chownSync(bound, 0, gid);
        renameSync(bound, socket);
        resolve();
      } catch (err) {
        server.close();
        reject(err instanceof Error ? err : new Error(String(err)));
      } finally {
        cleanup();
      }
    });
  });
}

/**
 * `daemon --group`: a group name (looked up as the system does, NSS included)
 * or a numeric gid. Anything else is an error now, at start, rather than a
 * socket nobody in the intended group can use, or a NaN gid.
 */
export async function resolveGroup(text: string, lookup: (name: string) => Promise<number | undefined> = lookupGroup): Promise<number> {
  if (/^\d+$/.test(text)) {
    const gid = Number(text);
    // (uid_t)-1 means "unchanged" to chown.
    if (gid >= 2 ** 32 - 1) throw new Error(`invalid --group "${text}": a gid is below 4294967295`);
    return gid;
  }
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(text)) throw new Error(`invalid --group "${text}": expected a group name or a numeric gid`);
  const gid = await lookup(text);
  if (gid === undefined) throw new Error(`invalid --group "${text}": no such group`);
  return gid;
}

/** A group's gid through getent (NSS: files, LDAP, sssd …), else /etc/group. */
async function lookupGroup(name: string): Promise<number | undefined> {
  try {
    const r = await run("getent", ["group", name], { allowFailure: true, timeoutMs: 10_000 });
    // getent exits 2 for an unknown name: that is the answer.
    if (r.code === 0) return gidOf(r.stdout, name);
    if (r.code === 2) return undefined;
  } catch (err) {
    if (!(err instanceof CommandNotFoundError)) throw err;
  }
  // Without getent (or when it fails otherwise), read the file.
  try {
    return gidOf(readFileSync("/etc/group", "utf8"), name);
  } catch {
    return undefined;
  }
}

function gidOf(groupLines: string, name: string): number | undefined {
  for (const line of groupLines.split("\n")) {
    const [n, , gid] = line.split(":");
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}
