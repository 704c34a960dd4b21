// The /dev/shm of an `ipc: shareable` container lives on the host, as Docker
// keeps it (moby container.ShmPath, <container dir>/mounts/shm): a tmpfs of
// the container's shm_size under the container's directory, bound on its
// /dev/shm and on that of every container that joins its IPC namespace
// (`ipc: container:x`), so POSIX shared memory (files in /dev/shm) is shared
// along with SysV IPC. A tmpfs inside the donor's own mount namespace could
// not be bound by another namespace (EINVAL). Like dockerd, the tmpfs is
// mounted when the container starts and unmounted when it stops or is
// removed; the engine's start-up reconcile unmounts what a killed daemon left.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { isMounted, mountOverlay, unmount } from "../snapshot/mount.js";
import { DEFAULT_SHM_SIZE } from "./mounts.js";

/** The host path of a shareable container's /dev/shm, in its directory. */
export function hostShmPath(containerDir: string): string {
  return join(containerDir, "shm");
}

/** Mounts the container's /dev/shm tmpfs on the host unless it is (a start after a stop keeps nothing, as Docker's). */
export async function mountHostShm(containerDir: string, shmSize: number | undefined): Promise<string> {
  const path = hostShmPath(containerDir);
  await mkdir(path, { recursive: true, mode: 0o700 });
  if (!(await isMounted(path))) {
    await mountOverlay({ type: "tmpfs", source: "shm", options: ["nosuid", "nodev", "noexec", "mode=1777", `size=${shmSize ?? DEFAULT_SHM_SIZE}`] }, path);
  }
  return path;
}

/** Unmounts and removes the host tmpfs, if any. Containers that joined keep theirs until they end (their own mount). */
export async function unmountHostShm(containerDir: string): Promise<void> {
  const path = hostShmPath(containerDir);
  await unmount(path);
  await rm(path, { recursive: true, force: true });
}
