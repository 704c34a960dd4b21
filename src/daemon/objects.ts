// Volumes and networks as the docker CLI manages them (`volume ls|inspect|
// create|rm|prune`, `network ls|inspect|create|rm|prune`), on whatever
// engine the daemon runs. What a container uses is never removed: a volume
// mounted by any container (running or not, named or its anonymous one), a
// network any container is attached to.
import { randomBytes } from "node:crypto";
import { diskUsage } from "../../engine/snapshot/usage.js";
import type { ContainerInfo, Engine, NetworkInfo, VolumeInfo } from "../../engine/types.js";
import { kindOf } from "../../model/errors.js";
import { VOLUME_LABEL } from "../../model/labels.js";
import { EngineError } from "../../engine/types.js";
import type { NetworkCreateRequest, NetworkView, PruneResult, VolumeCreateRequest, VolumeView } from "./api.js";
import { matches, NETWORK_FILTERS, parseFilters, VOLUME_FILTERS } from "./object-filters.js";

/** Docker's label on a volume a container created for an anonymous mount; its value is the container's id. */
const ANONYMOUS = VOLUME_LABEL.anonymous;

function volumeUsers(v: VolumeInfo, containers: ContainerInfo[]): string[] {
  return containers.filter((c) => c.volumes?.includes(v.name) === true || v.labels[ANONYMOUS] === c.id).map((c) => c.id);
}

function volumeView(v: VolumeInfo, containers: ContainerInfo[]): VolumeView {
  return { name: v.name, driver: v.driver, labels: v.labels, mountpoint: v.mountpoint, createdAt: v.createdAt, scope: "local", usedBy: volumeUsers(v, containers) };
}

function networkView(n: NetworkInfo, containers: ContainerInfo[]): NetworkView {
  const attached: NetworkView["containers"] = {};
  for (const c of containers) {
    const at = c.networks[n.name];
    if (at) attached[c.id] = { name: c.name, ipv4Address: at.ipAddress, macAddress: at.macAddress, ...(at.ipv6Address !== undefined ? { ipv6Address: at.ipv6Address } : {}) };
  }
  const v6 = n.subnet6 !== undefined && n.gateway6 !== undefined ? { subnet6: n.subnet6, gateway6: n.gateway6 } : {};
  return { id: n.id, name: n.name, driver: n.driver, labels: n.labels, subnet: n.subnet, gateway: n.gateway, internal: n.internal, scope: "local", ...v6, containers: attached };
}

const allContainers = (engine: Engine): Promise<ContainerInfo[]> => engine.listContainers({ all: true });

export class ObjectService {
  constructor(private readonly engine: Engine) {}

  async volumes(filterTexts: string[]): Promise<VolumeView[]> {
    const filters = parseFilters(filterTexts, VOLUME_FILTERS);
    const containers = await allContainers(this.engine);
    return (await this.engine.listVolumes())
      .map((v) => volumeView(v, containers))
      .filter((v) => matches(filters, { ...v, used: v.usedBy.length > 0 }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async volume(name: string): Promise<VolumeView> {
    const v = await this.engine.inspectVolume(name);
    if (!v) throw new EngineError("not-found", `get ${name}: no such volume`);
    return volumeView(v, await allContainers(this.engine));
  }

  async createVolume(req: VolumeCreateRequest): Promise<VolumeView> {
    const name = req.name ?? randomBytes(32).toString("hex");
    if (req.driver !== undefined && req.driver !== "local") throw new EngineError("invalid", `volume driver "${req.driver}" is not supported (only "local")`);
    const existing = await this.engine.inspectVolume(name);
    // Docker answers an existing name with that volume, unless the labels asked for differ.
    if (existing && req.labels && JSON.stringify(sortedEntries(existing.labels)) !== JSON.stringify(sortedEntries(req.labels))) {
      throw new EngineError("conflict", `create ${name}: volume name already exists with different labels`);
    }
    return volumeView(existing ?? (await this.engine.createVolume({ name, labels: req.labels ?? {}, driver: "local" })), []);
  }

  /** The engine refuses a volume in use (docker's "volume is in use - [ids]"); force only makes a missing one fine. */
  async removeVolume(name: string, force: boolean): Promise<void> {
    if (force && !(await this.engine.inspectVolume(name))) return;
    const v = await this.volume(name);
    if (v.usedBy.length > 0) throw new EngineError("conflict", `remove ${name}: volume is in use - [${v.usedBy.join(", ")}]`);
    await this.engine.removeVolume(name);
  }

  /** Docker 23+: unused anonymous volumes only; all=true also unused named ones. */
  async pruneVolumes(all: boolean, filterTexts: string[]): Promise<PruneResult> {
    const result: PruneResult = { deleted: [], reclaimedBytes: 0 };
    for (const v of await this.volumes(filterTexts)) {
      if (v.usedBy.length > 0 || (!all && v.labels[ANONYMOUS] === undefined)) continue;
      const { size } = await diskUsage(v.mountpoint);
      try {
        await this.engine.removeVolume(v.name);
      } catch (err) {
        // A container took it since we looked: it stays, as in use.
        if (kindOf(err) === "conflict") continue;
        throw err;
      }
      result.deleted.push(v.name);
      result.reclaimedBytes += size;
    }
    return result;
  }

  async networks(filterTexts: string[]): Promise<NetworkView[]> {
    const filters = parseFilters(filterTexts, NETWORK_FILTERS);
    const containers = await allContainers(this.engine);
    return (await this.engine.listNetworks())
      .map((n) => networkView(n, containers))
      .filter((n) => matches(filters, { ...n, used: Object.keys(n.containers).length > 0 }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async network(nameOrId: string): Promise<NetworkView> {
    const n = (await this.engine.inspectNetwork(nameOrId)) ?? (await this.engine.listNetworks()).find((x) => x.id.startsWith(nameOrId));
    if (!n || nameOrId === "") throw new EngineError("not-found", `network ${nameOrId} not found`);
    return networkView(n, await allContainers(this.engine));
  }

  async createNetwork(req: NetworkCreateRequest): Promise<NetworkView> {
    const driver = req.driver ?? "bridge";
    if (driver !== "bridge") throw new EngineError("invalid", `network driver "${driver}" is not supported (only "bridge")`);
    if (req.gateway !== undefined && req.subnet === undefined) throw new EngineError("invalid", "--gateway needs --subnet");
    const n = await this.engine.createNetwork({ name: req.name, driver, labels: req.labels ?? {}, internal: req.internal === true, subnet: req.subnet, gateway: req.gateway });
    return networkView(n, []);
  }

  /** Refused while any container, running or stopped, is attached (docker refuses only running ones: a stopped one could not start again). */
  async removeNetwork(nameOrId: string): Promise<void> {
    const n = await this.network(nameOrId);
    if (Object.keys(n.containers).length > 0) {
      throw new EngineError("conflict", `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    }
    await this.engine.removeNetwork(n.name);
  }

  async pruneNetworks(filterTexts: string[]): Promise<PruneResult> {
    const result: PruneResult = { deleted: [], reclaimedBytes: 0 };
    for (const n of await this.networks(filterTexts)) {
      if (Object.keys(n.containers).length > 0) continue;
      try {
        await this.engine.removeNetwork(n.name);
      } catch (err) {
        if (kindOf(err) === "conflict") continue;
        throw err;
      }
      result.deleted.push(n.name);
    }
    return result;
  }
}

const sortedEntries = (m: Record<string, string>): [string, string][] => Object.entries(m).sort(([a], [b]) => a.localeCompare(b));
