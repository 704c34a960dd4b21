// The state directory's permissions: the one place that decides them, called
// by whichever process touches the state dir first (the daemon, the CLI's
// autostart, a CLI image command) and at every daemon start, so a state dir
// made by an older tscompose (0755 dirs, 0644 records) is migrated.
//
// The state dir holds what no other user may see or reach: container
// environments (record.json, config.json: secrets), writable layers (a
// setuid-root binary a container made in its upper dir would run as root for
// any local user who can reach it: Docker's CVE-2021-41091), volumes, blobs.
//
// Layout of the modes:
//   <state dir>        0711  root may let a group reach the daemon's socket
//                            inside it (daemon --group): others may traverse
//                            to a name they know, but not list anything;
//   its directories    0700  content, images, snapshots, runtime, network,
//                            volumes, stacks, jobs, tmp: nothing below is
//                            reachable by another uid;
//   its files          0600  daemon.log, daemon.pid (the socket's own mode is
//                            set where it is created).
// Only these known names are touched, never whatever else a mistaken
// --state-dir may hold.
//
// Why only the top level and not every file below it: path resolution needs
// search permission on every directory on the way, so a 0700 directory makes
// everything under it unreachable for other uids whatever its own modes. The
// modes inside layers and upper dirs are the image's and the container's own
// (a 0755 /usr/bin, a 1777 /tmp) and must stay as they are; walking millions of
// layer files at each start would cost minutes and change what containers see.
import { chmodSync, lstatSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const STATE_DIR_MODE = 0o711;
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * The subtrees the embedded engine and the daemon keep, created private up
 * front so no component's own mkdir decides their mode. A new top-level
 * directory or file belongs in these lists (test/security/state-perms.test.ts
 * checks that no other uid can read anything a running daemon keeps).
 */
export const STATE_SUBTREES = ["content", "images", "snapshots", "runtime", "network", "volumes", "stacks", "jobs", "tmp"];
const STATE_FILES = ["daemon.log", "daemon.pid"];

/**
 * Creates the state dir with its modes if missing, and sets the modes of the
 * top and of its known entries (migration of an older, looser state dir).
 * Returns what it changed, for the log. Idempotent and cheap (a few stats).
 */
export function ensureStateDir(dir: string): string[] {
  const changed: string[] = [];
  mkdirSync(dir, { recursive: true, mode: STATE_DIR_MODE });
  // The top may be a symlink to where the data really lives: followed, as every later access does.
  const top = statSync(dir);
  if (!top.isDirectory()) throw new Error(`state dir ${dir} is not a directory`);
  // A shared directory (/tmp, a home) named as the state dir by mistake must not be chmodded under its users.
  if ((top.mode & 0o1002) !== 0) throw new Error(`state dir ${dir} is world-writable or sticky (mode ${(top.mode & 0o7777).toString(8)}): name a directory of tscompose's own`);
  // mkdir's mode passes through the umask, and an existing dir keeps its old one: set it exactly.
  if ((top.mode & 0o7777) !== STATE_DIR_MODE) {
    chmodSync(dir, STATE_DIR_MODE);
    changed.push(`${dir}: ${(top.mode & 0o7777).toString(8)} -> ${STATE_DIR_MODE.toString(8)}`);
  }
  for (const sub of STATE_SUBTREES) {
    const path = join(dir, sub);
    try {
      mkdirSync(path, { mode: PRIVATE_DIR_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    setMode(path, PRIVATE_DIR_MODE, changed, "directory");
  }
  for (const name of STATE_FILES) setMode(join(dir, name), PRIVATE_FILE_MODE, changed, "file");
  return changed;
}

function setMode(path: string, mode: number, changed: string[], kind?: "directory" | "file"): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  // A symlink is never followed (chmod would change its target, anywhere on the host).
  if (kind === "directory" && !st.isDirectory()) throw new Error(`${path} is not a directory (state dir entries are tscompose's own)`);
  if (kind === "file" && !st.isFile()) return;
  if ((st.mode & 0o7777) === mode) return;
  chmodSync(path, mode);
  changed.push(`${path}: ${(st.mode & 0o7777).toString(8)} -> ${mode.toString(8)}`);
}
