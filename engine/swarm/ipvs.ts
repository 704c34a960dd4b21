// What of a stack needs IP_VS on the nodes, and how a node says it has none.
//
// Swarm serves a service's virtual IP (endpoint_mode vip, the default) and
// the ingress routing mesh (published ports in ingress mode, the default)
// with the kernel's IPVS load balancer. On a kernel without IP_VS (these test
// machines: CONFIG_IP_VS is not set) dockerd only logs its failure: the
// tasks run, yet a name resolves to a VIP nothing answers on and a published
// port answers nowhere. deploy() warns, naming the key and what to write
// instead (endpoint_mode: dnsrr, ports' mode: host), when the stack relies on
// either and a node says it has no IPVS.
//
// The signal: the kernel makes /proc/net/ip_vs in every network namespace
// once IPVS is in it (built in, or the module loaded: dockerd's first swarm
// netlink request for the IPVS family loads it), and a task's container sees
// its own namespace's /proc/net. A probe task runs that file as its command,
// which needs no shell or tool in the image: runc answers "no such file or
// directory" when it is absent (no IPVS) and "permission denied" when it is
// there (the file is not executable). Only the first answer warns; anything
// else (the probe could not run) says nothing rather than guess.
import type { ServiceSpec, StackSpec } from "../../model/stack.js";
import { written } from "./service-spec.js";

export interface IpvsReliance {
  service: string;
  /** From the file's root: services.api.deploy.endpoint_mode, services.web.ports.0 */
  path: (string | number)[];
  /** The warning, without where it was written. */
  message: string;
}

const NO_IPVS = "which this swarm cannot serve: its nodes' kernel has no IP_VS";
const isJob = (s: ServiceSpec): boolean => s.deploy.mode.endsWith("-job");

/**
 * Where the stack relies on IPVS: a service other services can reach by name
 * (they share a network) behind a VIP, and every port published in ingress
 * mode. Pure: the caller decides whether the cluster can serve them.
 */
export function ipvsReliances(stack: StackSpec): IpvsReliance[] {
  const out: IpvsReliance[] = [];
  const services = Object.values(stack.services);
  for (const s of services) {
    const mode = written(s, "deploy", "endpoint_mode") ?? "vip";
    const nets = Object.keys(s.networks);
    const reachable = services.some((o) => o !== s && Object.keys(o.networks).some((n) => nets.includes(n)));
    if (mode === "vip" && reachable && !isJob(s)) {
      out.push({
        service: s.name,
        path: ["services", s.name, "deploy", "endpoint_mode"],
        message: `service "${s.name}" is reached by name through a virtual IP (endpoint_mode vip, the default), ${NO_IPVS}: use endpoint_mode: dnsrr (the name resolves to its tasks' addresses)`,
      });
    }
    for (const [i, p] of s.ports.entries()) {
      if (p.mode !== "ingress") continue;
      out.push({
        service: s.name,
        path: ["services", s.name, "ports", i],
        message: `service "${s.name}" publishes port ${p.published ?? "(any)"}:${p.target} through the ingress routing mesh (mode ingress, the default), ${NO_IPVS}: use mode: host (published on the nodes running a task; with endpoint_mode: dnsrr)`,
      });
    }
  }
  return out;
}

/** The probe task's command: the file itself (see the header). */
export const IPVS_PROBE_FILE = "/proc/net/ip_vs";

/** What a probe task's error says of the file it ran: "absent", "present", or undefined when it cannot tell. */
export function probeAnswer(taskError: string | undefined): "absent" | "present" | undefined {
  if (taskError === undefined) return undefined;
  if (/no such file or directory/i.test(taskError)) return "absent";
  if (/permission denied/i.test(taskError)) return "present";
  return undefined;
}
