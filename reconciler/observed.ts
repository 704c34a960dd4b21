// The observed state of one stack, as the planner sees it: rebuilt from the
// engine's containers, networks and volumes by their labels. The planner is a
// pure function of (StackSpec, Observed), so Observed carries everything it
// needs and nothing it must look up.
import type { ContainerInfo, ContainerState, NetworkInfo, VolumeInfo } from "../engine/types.js";
import { LABEL, VOLUME_LABEL } from "../model/labels.js";

export interface ObservedContainer {
  id: string;
  name: string;
  service: string;
  number: number;
  configHash: string;
  state: ContainerState;
  exitCode: number | undefined;
  health: "starting" | "healthy" | "unhealthy" | undefined;
  oneoff: boolean;
  /** The user stopped it (stop/kill from the CLI): supervision must not start it again. */
  stoppedByUser: boolean;
  /** Its exit was asked for by a stop (the user's, or a recreate, scale-down or down cut short). */
  stopRequested?: boolean;
  /** The image it was made from (sha256:...), where the engine says. */
  imageId?: string;
  /** Its anonymous volumes by target: a recreate mounts them in the new container (compose keeps a database's data so). */
  anonymousVolumes?: { name: string; target: string }[];
}

export interface ObservedStack {
  project: string;
  containers: ObservedContainer[];
  /** Network names present on the engine (e.g. `shop_default`). */
  networks: string[];
  /** Volume names present on the engine (e.g. `shop_data`). */
  volumes: string[];
  /** Image references present locally (normalized or as written in the stack). */
  images: string[];
  /**
   * Anonymous volumes a recreate handed over (VOLUME_LABEL.handover) whose
   * new owner was never made: the daemon died between removing the old
   * container and creating its replacement. The next create of that service
   * and number mounts them.
   */
  handedOver?: { service: string; number: number; name: string; target: string }[];
  /** The ID of each present image reference: a container made from another one of a built image is recreated. */
  imageIds?: Record<string, string>;
  /** When each present image reference was last pulled (ms since the epoch), where the engine knows. */
  imagePulledAt?: Record<string, number>;
  /** When this was observed (ms since the epoch): what pull times are compared with; default the planning time. */
  observedAtMs?: number;
}

/** What the engine's container record cannot say: health (from the supervisor) and user stops (from the daemon's state). */
export interface ObservedExtras {
  health?: (id: string) => ObservedContainer["health"];
  stoppedByUser?: (id: string) => boolean;
}

export function observeContainer(c: ContainerInfo, extras: ObservedExtras = {}): ObservedContainer | undefined {
  const service = c.labels[LABEL.service];
  if (service === undefined) return undefined;
  return {
    id: c.id,
    name: c.name,
    service,
    number: Number(c.labels[LABEL.number] ?? "1"),
    configHash: c.labels[LABEL.configHash] ?? "",
    state: c.state,
    exitCode: c.exitCode,
    health: extras.health?.(c.id),
    oneoff: (c.labels[LABEL.oneoff] ?? "False") === "True",
    stoppedByUser: extras.stoppedByUser?.(c.id) ?? false,
    stopRequested: c.stopRequested === true,
    ...(c.imageId ? { imageId: c.imageId } : {}),
    ...(c.anonymousVolumes && c.anonymousVolumes.length > 0 ? { anonymousVolumes: c.anonymousVolumes.map((v) => ({ ...v })) } : {}),
  };
}

export function observeStack(
  project: string,
  containers: ContainerInfo[],
  networks: NetworkInfo[],
  volumes: VolumeInfo[],
  images: string[],
  extras: ObservedExtras = {},
): ObservedStack {
  return {
    project,
    containers: containers
      .filter((c) => c.labels[LABEL.project] === project)
      .map((c) => observeContainer(c, extras))
      .filter((c): c is ObservedContainer => c !== undefined),
    networks: networks.map((n) => n.name),
    volumes: volumes.map((v) => v.name),
    images,
    ...handedOverOf(project, containers, volumes),
  };
}

function handedOverOf(project: string, containers: ContainerInfo[], volumes: VolumeInfo[]): Pick<ObservedStack, "handedOver"> {
  const alive = new Set(containers.map((c) => c.id));
  const out: NonNullable<ObservedStack["handedOver"]> = [];
  for (const v of volumes) {
    const key = v.labels[VOLUME_LABEL.handover];
    const target = v.labels[VOLUME_LABEL.handoverTarget];
    // Owned by a container that exists: the hand-over happened (its labels outlived the create by a crash).
    if (key === undefined || target === undefined || alive.has(v.labels[VOLUME_LABEL.anonymous] ?? "")) continue;
    const m = /^(.*)\/([^/]+)\/(\d+)$/.exec(key);
    if (!m || m[1] !== project) continue;
    out.push({ service: m[2] as string, number: Number(m[3]), name: v.name, target });
  }
  return out.length > 0 ? { handedOver: out } : {};
}
