// What a stack may not ask of Swarm: keys a service on swarm cannot honour.
// `docker stack deploy` prints "Ignoring unsupported options" and drops them;
// tscompose refuses the stack instead, naming the key (and where it was
// written when the caller can say: the loader's locations), before anything is
// created. Swarm-only keys the embedded engine ignores (deploy.placement,
// update_config, ...) are carried in ServiceSpec.unsupported as written; this
// engine reads them there (service-spec.ts).
import type { ServiceSpec, StackSpec } from "../../model/stack.js";
import { writtenDomain } from "../content/reference.js";
import { EngineError } from "../errors.js";

export type SourceLocation = { file: string; line: number; column: number };
/** Where a key path (from the file's root) was written; undefined when unknown. */
export type Locate = (path: readonly (string | number)[]) => SourceLocation | undefined;

export interface SwarmProblem {
  /** From the file's root: services.web.privileged */
  path: (string | number)[];
  reason: string;
  location: SourceLocation | undefined;
}

/** A stack Swarm cannot run as written: every problem, the first in the message. */
export class SwarmSupportError extends EngineError {
  constructor(readonly problems: SwarmProblem[]) {
    const first = problems[0] as SwarmProblem;
    const at = first.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : "";
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
    super("invalid", `${at}${first.path.join(".")}: not supported on swarm: ${first.reason}${more}`);
  }
}

interface Rule {
  key: string;
  reason: string;
  /** Set in a way swarm cannot run. */
  set(s: ServiceSpec): boolean;
}

const NO_SWARM = "swarm services have no such option (docker stack deploy ignores it)";

const RULES: readonly Rule[] = [
  {
    key: "build",
    reason: "swarm nodes pull images: give the service an `image:` in a registry every node reaches (up builds, pushes it there, and deploys it by digest)",
    set: (s) => s.build !== undefined && s.image === undefined,
  },
  {
    key: "image",
    reason: "a built image is pushed to the registry its name starts with, and this one names none (Docker Hub by default): write the registry host, e.g. registry.example:5000/app",
    set: (s) => s.build !== undefined && s.image !== undefined && writtenDomain(s.image) === undefined,
  },
  { key: "network_mode", reason: "swarm services join networks (networks:); network_mode has no swarm equivalent", set: (s) => s.networkMode !== undefined },
  { key: "privileged", reason: NO_SWARM, set: (s) => s.privileged },
  { key: "container_name", reason: "swarm names a service's tasks itself (<stack>_<service>.<slot>.<id>)", set: (s) => s.containerName !== undefined },
  { key: "devices", reason: NO_SWARM, set: (s) => s.devices.length > 0 },
  { key: "links", reason: "services find each other by name on their networks; links have no swarm equivalent", set: (s) => s.links.length > 0 },
  { key: "external_links", reason: NO_SWARM, set: (s) => s.externalLinks.length > 0 },
  { key: "volumes_from", reason: NO_SWARM, set: (s) => s.volumesFrom.length > 0 },
  { key: "pid", reason: NO_SWARM, set: (s) => s.pid !== undefined },
  { key: "ipc", reason: NO_SWARM, set: (s) => s.ipc !== undefined },
  { key: "userns_mode", reason: NO_SWARM, set: (s) => s.usernsMode !== undefined },
  { key: "cgroup_parent", reason: NO_SWARM, set: (s) => s.cgroupParent !== undefined },
  { key: "security_opt", reason: NO_SWARM, set: (s) => s.securityOpt.length > 0 },
  { key: "cpuset", reason: NO_SWARM, set: (s) => s.cpuset !== undefined },
  { key: "shm_size", reason: NO_SWARM, set: (s) => s.shmSize !== undefined },
  { key: "tmpfs", reason: "use a volume of type tmpfs (volumes:) on swarm", set: (s) => s.tmpfs.length > 0 },
  { key: "post_start", reason: "lifecycle hooks run in a container the engine started; swarm starts its own", set: (s) => s.postStart.length > 0 },
  { key: "pre_stop", reason: "lifecycle hooks run in a container the engine stops; swarm stops its own", set: (s) => s.preStop.length > 0 },
];

function serviceProblems(s: ServiceSpec, locate: Locate): SwarmProblem[] {
  const out: SwarmProblem[] = [];
  const at = (path: (string | number)[]): SwarmProblem["location"] => locate(["services", s.name, ...path]);
  for (const r of RULES) if (r.set(s)) out.push({ path: ["services", s.name, r.key], reason: r.reason, location: at([r.key]) });
  for (const [i, p] of s.ports.entries()) {
    if (p.published !== undefined && !/^\d+$/.test(p.published)) {
      out.push({ path: ["services", s.name, "ports", i], reason: `a published range (${p.published}): swarm publishes one port per entry`, location: at(["ports", i]) });
    }
    if (p.hostIp !== undefined) out.push({ path: ["services", s.name, "ports", i], reason: "swarm publishes on every address of the node: host_ip has no swarm equivalent", location: at(["ports", i]) });
  }
  for (const [i, v] of s.volumes.entries()) {
    if (v.type !== "bind" && v.type !== "volume" && v.type !== "tmpfs") {
      out.push({ path: ["services", s.name, "volumes", i], reason: `a ${v.type} mount: swarm services mount binds, volumes and tmpfs`, location: at(["volumes", i]) });
    }
  }
  for (const k of s.unsupported) {
    // What the embedded engine refuses and swarm does itself (dockerd's log drivers) is fine here.
    if (!k.refused || SWARM_DOES.has(String(k.path[0])) || out.some((p) => p.path[2] === k.path[0])) continue;
    out.push({ path: ["services", s.name, ...k.path], reason: k.reason, location: k.location ?? at(k.path) });
  }
  return out;
}

/** Keys the embedded engine refuses (src/stack/support.ts) that dockerd on each node honours. */
const SWARM_DOES = new Set(["logging", "network_mode"]);

/** Every key of the stack swarm cannot honour; [] when it can run as written. */
export function swarmProblems(stack: StackSpec, locate: Locate = () => undefined): SwarmProblem[] {
  const out: SwarmProblem[] = [];
  for (const s of Object.values(stack.services)) out.push(...serviceProblems(s, locate));
  for (const [key, n] of Object.entries(stack.networks)) {
    if (!n.external && n.driver !== "overlay" && n.driver !== "bridge") {
      out.push({ path: ["networks", key, "driver"], reason: `a ${n.driver} network: swarm stacks use overlay networks`, location: locate(["networks", key, "driver"]) });
    }
  }
  for (const kind of ["configs", "secrets"] as const) {
    for (const [key, o] of Object.entries(stack[kind])) {
      if (!o.external && o.file === undefined && o.content === undefined && o.environmentValue === undefined) {
        out.push({ path: [kind, key], reason: "no content: its environment variable is not set", location: locate([kind, key]) });
      }
    }
  }
  return out;
}

/** Throws the SwarmSupportError naming every problem; returns when there is none. */
export function checkSwarmSupport(stack: StackSpec, locate?: Locate): void {
  const problems = swarmProblems(stack, locate);
  if (problems.length > 0) throw new SwarmSupportError(problems);
}
