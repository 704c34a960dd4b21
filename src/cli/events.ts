// `tscompose events [SERVICE...]`: the daemon's container events for this
// project as they happen, one line each as compose prints them:
//   2024-01-01 12:00:00.000000 container start <id> (image=busybox, name=p-web-1)
// or with --json compose's objects. Like compose it leaves out one-off
// containers and compose's own labels, and runs until interrupted.
import type { ContainerView, DaemonEvent } from "../daemon/api.js";
import { COMPOSE_LABEL_PREFIX, LABEL } from "../../model/labels.js";
import type { ProjectOptions } from "../stack/load.js";
import { CliError } from "./errors.js";
import { daemon, projectNameLazy } from "./project-name.js";

export interface EventsFlags {
  json?: boolean;
}

type ContainerEvent = Extract<DaemonEvent, { type: "container" }>;

interface Known {
  service: string | undefined;
  image: string | undefined;
  oneoff: boolean;
}

export async function runEvents(opts: ProjectOptions, services: string[], flags: EventsFlags): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once("SIGINT", onSigint);
  process.once("SIGTERM", onSigint);
  // Health events carry no labels: the project's containers are known by id.
  // Others created later are learnt from their events, which carry labels.
  const known = new Map<string, Known>();
  for (const c of await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`)) {
    known.set(c.id, { service: c.service, image: c.image, oneoff: c.labels[LABEL.oneoff] === "True" });
  }
  try {
    for await (const e of client.stream<DaemonEvent>("GET", "/events", undefined, abort.signal)) {
      if (e.type !== "container") continue;
      if (e.labels[LABEL.project] === project && !known.has(e.id)) {
        known.set(e.id, { service: e.labels[LABEL.service], image: undefined, oneoff: e.labels[LABEL.oneoff] === "True" });
      }
      const k = known.get(e.id);
      if (!k || k.oneoff) continue;
      if (services.length > 0 && !services.includes(k.service ?? "")) continue;
      process.stdout.write(flags.json ? `${JSON.stringify(eventJson(e, k))}\n` : `${eventLine(e, k)}\n`);
      if (e.action === "destroy") known.delete(e.id);
    }
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
  }
  if (abort.signal.aborted) return 130;
  throw new CliError("the daemon closed the event stream");
}

/** Docker's action names: health events read `health_status: healthy`. */
function actionOf(e: ContainerEvent): string {
  return e.action === "health_status" ? `health_status: ${e.status}` : e.action;
}

/** The event's attributes as compose shows them: labels but compose's own, the name, image and exit code. */
export function attributesOf(e: ContainerEvent, k: Known): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(e.labels)) if (!key.startsWith(COMPOSE_LABEL_PREFIX)) attrs[key] = value;
  if (k.image) attrs.image = k.image;
  attrs.name = e.name;
  if ("exitCode" in e && e.exitCode !== undefined) attrs.exitCode = String(e.exitCode);
  return Object.fromEntries(Object.entries(attrs).sort(([a], [b]) => a.localeCompare(b)));
}

export function eventLine(e: ContainerEvent, k: Known): string {
  const attrs = Object.entries(attributesOf(e, k))
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
  return `${localTimestamp(e.time)} container ${actionOf(e)} ${e.id} (${attrs})`;
}

function eventJson(e: ContainerEvent, k: Known): Record<string, unknown> {
  return { time: localIso(e.time), type: "container", service: k.service ?? "", id: e.id, action: actionOf(e), attributes: attributesOf(e, k) };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** Go's "2006-01-02 15:04:05.000000" in local time; the engine's clock has milliseconds. */
export function localTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000`;
}

/** RFC 3339 in local time with its offset, as Go marshals a time.Time. */
function localIso(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? "Z" : `${off > 0 ? "+" : "-"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${zone}`;
}
