// `tscompose network ls|inspect|create|rm|prune|connect|disconnect` (the
// docker CLI's), through the daemon.
import type { NetworkView, PruneResult } from "../daemon/api.js";
import { kindOf } from "../../model/errors.js";
import { filterQuery, inspectObjects, labelMap, labelsText, listText, pruneWith, removeEach } from "./object-output.js";
import type { ListFlags } from "./object-output.js";
import { daemon } from "./project-name.js";

/** docker network ls --format json's fields (booleans as text, as docker prints them). */
function lsJson(n: NetworkView, noTrunc: boolean): Record<string, unknown> {
  return { CreatedAt: "", Driver: n.driver, ID: noTrunc ? n.id : n.id.slice(0, 12), IPv4: "true", IPv6: String(n.subnet6 !== undefined), Internal: String(n.internal), Labels: labelsText(n.labels), Name: n.name, Scope: n.scope };
}

/** docker network inspect's object. */
function inspectJson(n: NetworkView): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const [id, c] of Object.entries(n.containers)) {
    containers[id] = {
      Name: c.name,
      EndpointID: "",
      MacAddress: c.macAddress ?? "",
      IPv4Address: c.ipv4Address ? `${c.ipv4Address}/${n.subnet.split("/")[1] ?? ""}` : "",
      IPv6Address: c.ipv6Address !== undefined && n.subnet6 !== undefined ? `${c.ipv6Address}/${n.subnet6.split("/")[1] ?? ""}` : "",
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Scope: n.scope,
    Driver: n.driver,
    EnableIPv6: n.subnet6 !== undefined,
    IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: n.subnet, Gateway: n.gateway }, ...(n.subnet6 !== undefined ? [{ Subnet: n.subnet6, Gateway: n.gateway6 ?? "" }] : [])] },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containers,
    Options: {},
    Labels: n.labels,
  };
}

export async function runNetworkLs(flags: ListFlags & { trunc?: boolean }): Promise<number> {
  const client = await daemon();
  const list = await client.json<NetworkView[]>("GET", `/networks?${filterQuery(flags.filter)}`);
  const rows = list.map((n) => lsJson(n, flags.trunc === false));
  process.stdout.write(listText(rows, flags, "ID", ["NETWORK ID", "NAME", "DRIVER", "SCOPE"], (r) => [String(r.ID), String(r.Name), String(r.Driver), String(r.Scope)]));
  return 0;
}

export async function runNetworkInspect(names: string[], flags: { format?: string }): Promise<number> {
  return inspectObjects(await daemon(), "/networks", names, inspectJson, flags.format);
}

export interface NetworkCreateFlags {
  driver?: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  label?: string[];
}

export async function runNetworkCreate(name: string, flags: NetworkCreateFlags): Promise<number> {
  const labels = labelMap(flags.label);
  const client = await daemon();
  const n = await client.json<NetworkView>("POST", "/networks", { name, driver: flags.driver, subnet: flags.subnet, gateway: flags.gateway, internal: flags.internal, labels });
  process.stdout.write(`${n.id}\n`);
  return 0;
}

export async function runNetworkRm(names: string[], flags: { force?: boolean }): Promise<number> {
  const client = await daemon();
  return removeEach(names, async (n) => {
    try {
      await client.json("DELETE", `/networks/${encodeURIComponent(n)}`);
    } catch (err) {
      // -f: a network that does not exist is not an error (docker network rm -f).
      if (flags.force && kindOf(err) === "not-found") return;
      throw err;
    }
  });
}

export async function runNetworkPrune(flags: { force?: boolean; filter?: string[] }): Promise<number> {
  const client = await daemon();
  return pruneWith("all custom networks not used by at least one container", flags.force, () => client.json<PruneResult>("POST", `/networks/prune?${filterQuery(flags.filter)}`), "Networks", false);
}

/** The embedded engine cannot attach a container that exists to another network yet: said plainly, nothing changed. */
export async function runNetworkConnect(network: string, container: string, flags: { alias?: string[]; ip?: string }): Promise<number> {
  const client = await daemon();
  await client.json("POST", `/networks/${encodeURIComponent(network)}/connect`, { container, aliases: flags.alias ?? [], ...(flags.ip !== undefined ? { ipv4Address: flags.ip } : {}) });
  return 0;
}

export async function runNetworkDisconnect(network: string, container: string, flags: { force?: boolean }): Promise<number> {
  const client = await daemon();
  await client.json("POST", `/networks/${encodeURIComponent(network)}/disconnect`, { container, force: flags.force === true });
  return 0;
}
