// The labels that tie an engine object to its stack. They are compose's own,
// so tools that read docker compose labels make sense of our containers, and
// so that the observed state can be rebuilt from the engine alone after a
// crash: no name parsing, no side database. Every label key the code writes
// or reads is a constant here (the engine, the reconciler, the daemon, the CLI
// and the TUI all import this module); tests spell them out, to pin the
// strings other tools see.

export const LABEL = {
  project: "com.docker.compose.project",
  service: "com.docker.compose.service",
  number: "com.docker.compose.container-number",
  configHash: "com.docker.compose.config-hash",
  oneoff: "com.docker.compose.oneoff",
  workingDir: "com.docker.compose.project.working_dir",
  configFiles: "com.docker.compose.project.config_files",
  version: "com.docker.compose.version",
  network: "com.docker.compose.network",
  volume: "com.docker.compose.volume",
  dependsOn: "com.docker.compose.depends_on",
  image: "com.docker.compose.image",
  /** A one-off (`run`) container's random id; compose's own label for it. */
  slug: "com.docker.compose.slug",
} as const;

/** What `docker stack deploy` writes (so `docker stack ls/ps/services/rm` see a swarm stack), and tscompose's own on swarm objects. */
export const STACK_LABEL = {
  /** On services, their containers, networks, configs and secrets: the stack's name. */
  namespace: "com.docker.stack.namespace",
  /** On services: the image as written in the stack file (the spec holds it pinned to a digest). */
  image: "com.docker.stack.image",
  /** On services: the hash of the spec tscompose sent; an equal hash on redeploy leaves the service alone. */
  specHash: "io.tscompose.swarm.spec-hash",
  /** On services: the hash of the task template alone; when it changes, swarm replaces every task (a rolling update to wait for). */
  taskHash: "io.tscompose.swarm.task-hash",
  /** On configs and secrets: their key in the stack file (the name carries a content hash). */
  object: "io.tscompose.swarm.object",
  /**
   * On the IPVS probe service (engine/swarm/ipvs.ts): when its probe is over
   * (RFC 3339). One found past it was left by a daemon that died mid-probe,
   * and the next deploy or remove on that swarm removes it.
   */
  probeUntil: "io.tscompose.swarm.probe-until",
  /** Swarm's own, on each task's container on its node: the id of the task's service. */
  serviceId: "com.docker.swarm.service.id",
} as const;

/** The prefix every compose label has (`events` shows only the others as attributes). */
export const COMPOSE_LABEL_PREFIX = "com.docker.compose.";

/** tscompose's own labels, on what a scheduled job (x-tscompose cron) starts. */
export const JOB_LABEL = {
  /** The run id (its cron slot, UTC `YYYYMMDD-HHMMSS`). */
  run: "io.tscompose.job.run",
  /** The cron slot, ISO 8601. */
  tick: "io.tscompose.job.tick",
} as const;

/**
 * On the containers an image build runs its RUN steps in (value: "run"):
 * the engine removes any it finds at start (a build cut short by a crash).
 */
export const BUILD_LABEL = "io.tscompose.build";

/** On volumes: docker's mark of an anonymous volume (its value: the owning container's id), and tscompose's own. */
export const VOLUME_LABEL = {
  anonymous: "com.docker.volume.anonymous",
  /**
   * On an anonymous volume a create carried over (a recreate): the owner
   * before it. A create cut short by a crash gives the volume back to that
   * owner at the next start rather than removing it with the create's
   * leftovers: it holds data.
   */
  carriedFrom: "io.tscompose.volume.carried-from",
  /**
   * On an anonymous volume whose container a recreate removed: who inherits
   * it (`<project>/<service>/<number>`), and where it was mounted. The old
   * container goes before the new one is made (names and published ports are
   * taken at create), so a daemon killed in between finds its data here and
   * mounts it in the replacement instead of a new, empty volume.
   */
  handover: "io.tscompose.volume.handover",
  handoverTarget: "io.tscompose.volume.handover-target",
} as const;

/** The value of VOLUME_LABEL.handover for the container numbered `number` of a service. */
export function handoverKey(project: string, service: string, number: number): string {
  return `${project}/${service}/${number}`;
}

/** The compose version we claim in labels: the compose-spec level we follow. */
export const COMPOSE_VERSION = "2.29.0";

/** `<project>-<service>-<n>`, compose v2's container name. */
export function containerName(project: string, service: string, number: number): string {
  return `${project}-${service}-${number}`;
}
