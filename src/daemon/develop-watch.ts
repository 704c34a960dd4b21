// develop.watch (compose-spec `develop`): while a stack is watched (up
// --watch, `tscompose watch`, up -d --watch), each service's watch rules have
// a chokidar watcher on their path. Changes are batched (an editor's save is
// a burst of events; 100 ms of quiet ends it) and then, per service:
// - sync: the changed files are copied into every running container of the
//   service at `target` + their path below the rule's (a directory
//   recursively), and files gone from the host are removed there;
// - sync+restart: the same, then the containers are restarted;
// - rebuild: a service with build: is built again, one without (an image
//   only) pulled again; then its containers are recreated through the normal
//   converge path (up --no-deps --force-recreate of that service).
// As compose: paths are relative to the project, ignore patterns to the
// rule's path, .git and editor temp files are ignored, the build context's
// .dockerignore applies, and nothing is synced when watching starts.
// What happens is logged and published as `stack develop` events, which
// `tscompose watch` prints ("Syncing service web after 3 changes were detected").
import { lstatSync } from "node:fs";
import { watch } from "chokidar";
import type { FSWatcher } from "chokidar";
import type { Engine } from "../../engine/types.js";
import { LABEL } from "../../model/labels.js";
import { runHooks } from "../../reconciler/hooks.js";
import type { StackSpec } from "../../model/stack.js";
import { imageOf } from "../../reconciler/plan.js";
import type { DaemonEvent } from "./api.js";
import { Batcher, compileRules, planBatch, relativeUnder } from "./develop-rules.js";
import type { CompiledRule, DevelopAction } from "./develop-rules.js";
import type { Logger } from "./log.js";

export const QUIET_MS = 100;

/** What develop.watch needs of the stack controller. */
export interface DevelopHost {
  readonly engine: Engine;
  /** The engine the project runs on (its images are there). */
  engineOf(project: string): Promise<Engine>;
  readonly health: { untrack(id: string): void };
  readonly supervisor: { expectStop(id: string): void; clearExpected(id: string): void };
  serialize<T>(project: string, fn: () => Promise<T>): Promise<T>;
  trackHealth(spec: StackSpec): Promise<void>;
  /** Pull the services' images again and recreate their containers (takes the stack's lock itself). */
  recreate(project: string, services: string[]): Promise<boolean>;
}

interface Watched {
  spec: StackSpec;
  /** The rules as armed, to re-arm only when they change. */
  key: string;
  rules: CompiledRule[];
  watchers: FSWatcher[];
  batcher: Batcher;
  /** Batches run one after the other. */
  queue: Promise<void>;
  ready: Promise<void>;
}

export class DevelopWatcher {
  private readonly stacks = new Map<string, Watched>();

  constructor(
    private readonly host: DevelopHost,
    private readonly log: Logger,
    private readonly publish: (e: DaemonEvent) => void,
  ) {}

  isWatching(project: string): boolean {
    return this.stacks.has(project);
  }

  /** Resolves when every watcher of the project has scanned its tree (edits before that may be missed). */
  ready(project: string): Promise<void> {
    return this.stacks.get(project)?.ready ?? Promise.resolve();
  }

  /**
   * Starts following the develop.watch rules of `services` (all when
   * undefined) of a stack; called again with a reloaded spec, it keeps the
   * watchers when the rules are the same and re-arms them when not.
   */
  watch(spec: StackSpec, services: string[] | undefined): void {
    const selected = Object.values(spec.services).filter((s) => (services === undefined || services.length === 0 || services.includes(s.name)) && (s.develop?.watch.length ?? 0) > 0);
    const rules = selected.flatMap((s) => compileRules(s));
    const key = JSON.stringify(selected.map((s) => [s.name, s.develop?.watch, s.build?.context]));
    const current = this.stacks.get(spec.name);
    if (current && current.key === key) {
      current.spec = spec;
      return;
    }
    this.unwatch(spec.name);
    if (rules.length === 0) return;
    for (const r of rules) {
      if (r.rule.action !== "rebuild" && r.rule.target === undefined) this.log.warn("develop.watch rule has no target: its changes are not synced", { stack: spec.name, service: r.service, path: r.rule.path });
    }
    const entry: Watched = {
      spec,
      key,
      rules,
      watchers: [],
      batcher: new Batcher((paths) => this.enqueue(spec.name, paths), QUIET_MS),
      queue: Promise.resolve(),
      ready: Promise.resolve(),
    };
    const ready: Promise<void>[] = [];
    for (const r of rules) {
      const w = watch(r.rule.path, {
        ignoreInitial: true,
        followSymlinks: false,
        // Only what is below the rule's path is ours to ignore: chokidar also asks about the parents it watches.
        ignored: (p: string) => {
          const rel = relativeUnder(r.rule.path, p);
          return rel !== undefined && rel !== "" && r.ignored(p);
        },
      });
      const add = (p: string): void => {
        if (!r.ignored(p)) entry.batcher.add(p);
      };
      w.on("add", add).on("change", add).on("unlink", add).on("addDir", add).on("unlinkDir", add);
      w.on("error", (err: unknown) => this.log.warn("develop.watch watcher error", { stack: spec.name, service: r.service, path: r.rule.path, error: (err as Error).message }));
      ready.push(new Promise((resolve) => w.once("ready", () => resolve())));
      entry.watchers.push(w);
    }
    entry.ready = Promise.all(ready).then(() => {
      this.log.info("develop.watch ready", { stack: spec.name, services: selected.map((s) => s.name), rules: rules.length });
      // initial_sync: each such rule's whole path once, as a change of it, before any change is seen.
      const initial = rules.filter((r) => r.rule.initialSync && r.rule.target !== undefined && r.rule.action.startsWith("sync")).map((r) => r.rule.path);
      if (initial.length > 0) this.enqueue(spec.name, [...new Set(initial)]);
    });
    this.stacks.set(spec.name, entry);
    this.announce(spec.name, `watching ${rules.length} develop.watch rule(s) of ${selected.map((s) => s.name).join(", ")}`);
  }

  unwatch(project: string): void {
    const entry = this.stacks.get(project);
    if (!entry) return;
    entry.batcher.close();
    for (const w of entry.watchers) void w.close();
    this.stacks.delete(project);
    this.log.info("develop.watch stopped", { stack: project });
  }

  async close(): Promise<void> {
    const closing = [...this.stacks.values()].flatMap((e) => e.watchers.map((w) => w.close()));
    for (const p of [...this.stacks.keys()]) this.unwatch(p);
    await Promise.all(closing);
  }

  private announce(project: string, message: string): void {
    this.publish({ type: "stack", action: "develop", project, message, time: Date.now() });
  }

  private enqueue(project: string, paths: string[]): void {
    const entry = this.stacks.get(project);
    if (!entry) return;
    entry.queue = entry.queue.then(() => this.handle(project, paths)).catch((err: unknown) => this.log.error("develop.watch batch failed", { stack: project, error: (err as Error).message }));
  }

  /** One batch: plan from the host's files as they are now, then act per service. */
  async handle(project: string, paths: string[]): Promise<void> {
    const entry = this.stacks.get(project);
    if (!entry) return;
    const actions = planBatch(entry.rules, paths, (p) => lstatSync(p, { throwIfNoEntry: false }) !== undefined);
    for (const a of actions) {
      if (this.stacks.get(project) !== entry) return; // unwatched meanwhile
      try {
        if (a.kind === "rebuild") await this.rebuild(entry.spec, a);
        else await this.sync(entry, a);
      } catch (err) {
        const message = `${a.kind} of service ${a.service} failed: ${(err as Error).message}`;
        this.log.warn(`develop.watch: ${message}`, { stack: project, service: a.service });
        this.announce(project, message);
      }
    }
  }

  private async sync(entry: Watched, a: Extract<DevelopAction, { kind: "sync" }>): Promise<void> {
    const project = entry.spec.name;
    const message = `Syncing service "${a.service}" after ${a.changes} ${a.changes === 1 ? "change was" : "changes were"} detected`;
    this.log.info(message, { stack: project, service: a.service, copies: a.copies.map((c) => c.containerPath), removals: a.removals, restart: a.restart });
    this.announce(project, message);
    const rules = entry.rules.filter((r) => r.service === a.service);
    // Inside a copied directory, what every rule covering it ignores stays out.
    const exclude = (p: string): boolean => rules.filter((r) => relativeUnder(r.rule.path, p) !== undefined).every((r) => r.ignored(p));
    const restarted: string[] = [];
    await this.host.serialize(project, async () => {
      const containers = await this.host.engine.listContainers({ labels: { [LABEL.project]: project, [LABEL.service]: a.service, [LABEL.oneoff]: "False" } });
      const running = containers.filter((c) => c.state === "running");
      if (running.length === 0) {
        this.log.info("develop.watch: no running container to sync", { stack: project, service: a.service });
        return;
      }
      for (const c of running) {
        if (a.copies.length === 0 && a.removals.length === 0) break;
        const r = await this.host.engine.copyToContainer(c.id, { copies: a.copies, removals: a.removals, exclude });
        this.log.info("develop.watch synced", { stack: project, container: c.name, copied: r.copied, removed: r.removed });
      }
      for (const c of running) await runHooks(this.host.engine, c.id, a.execs, "develop.watch exec");
      if (!a.restart) return;
      const svc = entry.spec.services[a.service];
      for (const c of running) {
        // As the API's restart: an intended stop is no crash, and health checks start again with it.
        this.host.health.untrack(c.id);
        this.host.supervisor.expectStop(c.id);
        await this.host.engine.stopContainer(c.id, { timeoutMs: svc?.stopGracePeriodMs, signal: svc?.stopSignal });
        this.host.supervisor.clearExpected(c.id);
        await this.host.engine.startContainer(c.id);
        restarted.push(c.name);
      }
      await this.host.trackHealth(entry.spec);
    });
    if (restarted.length > 0) {
      this.log.info("develop.watch restarted", { stack: project, service: a.service, containers: restarted });
      this.announce(project, `Restarted service "${a.service}" (${restarted.join(", ")})`);
    }
  }

  private async rebuild(spec: StackSpec, a: Extract<DevelopAction, { kind: "rebuild" }>): Promise<void> {
    const project = spec.name;
    const message = `Rebuilding service "${a.service}" after ${a.changes} ${a.changes === 1 ? "change was" : "changes were"} detected`;
    this.log.info(message, { stack: project, service: a.service });
    this.announce(project, message);
    const svc = spec.services[a.service];
    // A built service is built by recreate itself; an image-only one is pulled again.
    if (svc && svc.build === undefined) {
      // pull_policy always for this one pull; an image that exists only here (loaded, tagged) is recreated as it is.
      const image = imageOf(spec, svc);
      try {
        const info = await (await this.host.engineOf(project)).pullImage(image);
        this.log.info("develop.watch pulled", { stack: project, service: a.service, image, id: info.id });
      } catch (err) {
        this.log.warn("develop.watch: pull failed, recreating from the local image", { stack: project, service: a.service, image, error: (err as Error).message });
        this.announce(project, `Pulling ${image} failed (${(err as Error).message}); recreating from the local image`);
      }
    }
    const ok = await this.host.recreate(project, [a.service]);
    this.announce(project, ok ? `Recreated service "${a.service}"` : `Recreating service "${a.service}" failed; see the daemon log`);
  }
}
