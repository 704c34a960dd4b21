// The scheduler's logic with fake time: ticks are fired by hand, containers
// exit when the test says so, state lives in memory. The engine-backed runner
// and node-cron are exercised by test/cron.e2e.test.ts.
import { describe, expect, it } from "vitest";
import { service, stackOf } from "../../reconciler/testing.js";
import type { ScheduleSpec } from "../../model/stack.js";
import type { JobEvent, JobRun } from "./api.js";
import { JobScheduler, addToHistory, cronTimer, decideTick, emptyJobState, newRun, runId } from "./scheduler.js";
import type { JobContainer, JobRunner, JobState, JobStoreLike, PersistedJobs, TimerFactory } from "./scheduler.js";
import { eventually } from "../../test/support/wait.js";

const T0 = Date.parse("2025-01-01T03:00:00Z");
const sec = (n: number): number => T0 + n * 1000;

describe("decideTick", () => {
  const running = (): JobState => ({ ...emptyJobState(), lastTick: sec(0), running: [newRun(sec(0), "running")] });
  it("runs when nothing runs, whatever the policy", () => {
    for (const o of ["skip", "queue", "allow"] as const) expect(decideTick(emptyJobState(), o, sec(1)).kind).toBe("run");
  });
  it("skip skips, allow runs, queue queues one and skips the next", () => {
    expect(decideTick(running(), "skip", sec(1))).toEqual({ kind: "skip", reason: "run 20250101-030000 still running" });
    expect(decideTick(running(), "allow", sec(1)).kind).toBe("run");
    expect(decideTick(running(), "queue", sec(1)).kind).toBe("queue");
    expect(decideTick({ ...running(), queued: sec(1) }, "queue", sec(2))).toMatchObject({ kind: "skip", reason: expect.stringMatching(/another queued/) as string });
  });
  it("never acts twice on a slot, nor on one before the latest", () => {
    expect(decideTick({ ...emptyJobState(), lastTick: sec(5) }, "allow", sec(5)).kind).toBe("duplicate");
    expect(decideTick({ ...emptyJobState(), lastTick: sec(5) }, "allow", sec(4)).kind).toBe("duplicate");
  });
});

describe("history", () => {
  it("names runs by their UTC slot", () => {
    expect(runId(Date.parse("2025-03-04T05:06:07.000Z"))).toBe("20250304-050607");
  });
  it("keeps the newest N runs and N skips apart, so skips never push exit codes out", () => {
    let h: JobRun[] = [];
    for (let i = 0; i < 5; i++) h = addToHistory(h, newRun(sec(i), "failed", { exitCode: i }), 3);
    for (let i = 5; i < 15; i++) h = addToHistory(h, newRun(sec(i), "skipped"), 3);
    expect(h.map((r) => `${r.status}:${r.id.slice(-2)}`)).toEqual(["skipped:14", "skipped:13", "skipped:12", "failed:04", "failed:03", "failed:02"]);
  });
});

// ---- the scheduler with fakes

interface FakeContainer extends JobContainer {
  exit?: (code: number) => void;
  exited: Promise<number>;
}

class FakeRunner implements JobRunner {
  containers = new Map<string, FakeContainer>();
  removed: string[] = [];
  failStart = new Set<string>();
  /** Called inside create, as if the stack's lock were held by someone else until it resolves. */
  lock: Promise<void> = Promise.resolve();
  /** The same for start, which takes the stack's lock again. */
  startLock: Promise<void> = Promise.resolve();
  private n = 0;

  containerName(project: string, svc: string, id: string): string {
    return `${project}-${svc}-job-${id}`;
  }
  async create(project: string, svc: string, run: JobRun, stillWanted: () => boolean): Promise<{ id: string; name: string }> {
    await this.lock;
    if (!stillWanted()) throw new Error("not wanted");
    const id = `c${++this.n}`;
    this.add({ id, name: this.containerName(project, svc, run.id), service: svc, runId: run.id, tick: run.tick, state: "created" });
    return { id, name: this.containerName(project, svc, run.id) };
  }
  add(c: Omit<FakeContainer, "exited" | "exitCode" | "startedAt" | "finishedAt"> & Partial<FakeContainer>): FakeContainer {
    let exit!: (code: number) => void;
    const exited = new Promise<number>((r) => (exit = r));
    const full: FakeContainer = { exitCode: undefined, startedAt: undefined, finishedAt: undefined, ...c, exited, exit };
    void exited.then((code) => Object.assign(full, { state: "exited", exitCode: code }));
    this.containers.set(c.id, full);
    return full;
  }
  async start(_project: string, id: string, stillWanted: () => boolean): Promise<void> {
    await this.startLock;
    if (!stillWanted()) throw new Error("not wanted");
    const c = this.containers.get(id)!;
    if (this.failStart.has(c.service)) {
      c.state = "exited";
      c.exitCode = 127;
      throw Object.assign(new Error("exec: no such file"), { exitCode: 127 });
    }
    c.state = "running";
  }
  async wait(id: string): Promise<{ exitCode: number }> {
    return { exitCode: await this.containers.get(id)!.exited };
  }
  logTail(id: string): Promise<string[]> {
    return Promise.resolve([`output of ${id}`]);
  }
  remove(_project: string, id: string): Promise<void> {
    this.containers.delete(id);
    this.removed.push(id);
    return Promise.resolve();
  }
  list(): Promise<JobContainer[]> {
    return Promise.resolve([...this.containers.values()].map(({ exit: _e, exited: _x, ...c }) => c));
  }
  running(service: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.service === service && c.state === "running");
  }
}

class MemoryStore implements JobStoreLike {
  data = new Map<string, string>();
  load(project: string): PersistedJobs | undefined {
    const s = this.data.get(project);
    return s ? (JSON.parse(s) as PersistedJobs) : undefined;
  }
  save(jobs: PersistedJobs): void {
    this.data.set(jobs.project, JSON.stringify(jobs));
  }
  delete(project: string): void {
    this.data.delete(project);
  }
}

class FakeTimers {
  active = new Map<string, { schedule: ScheduleSpec; fire: (slot: Date) => void }>();
  created: string[] = [];
  factory: TimerFactory = (schedule, onTick) => {
    const key = schedule.cron;
    this.created.push(key);
    this.active.set(key, { schedule, fire: onTick });
    return {
      stop: () => this.active.delete(key),
      nextRun: () => new Date(sec(1000)),
    };
  };
  fire(cron: string, tick: number): void {
    this.active.get(cron)?.fire(new Date(tick));
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

function setup(schedules: Record<string, Partial<ScheduleSpec>>, shared?: { store: MemoryStore; runner: FakeRunner }) {
  const store = shared?.store ?? new MemoryStore();
  const runner = shared?.runner ?? new FakeRunner();
  const timers = new FakeTimers();
  const events: JobEvent[] = [];
  const logs: string[] = [];
  const scheduler = new JobScheduler({
    runner,
    store,
    timer: timers.factory,
    publish: (e) => events.push(e),
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(`WARN ${m}`) },
    now: () => sec(0),
  });
  const spec = stackOf(
    Object.entries(schedules).map(([name, s]) =>
      service(name, { supervision: { restartOnUnhealthy: false, readiness: undefined, schedule: { cron: `cron-${name}`, timezone: undefined, overlap: "skip", history: 10, ...s } } }),
    ),
  );
  return { store, runner, timers, events, logs, scheduler, spec };
}

const history = (s: JobScheduler, svc: string): string[] =>
  s.view("app").find((j) => j.service === svc)!.history.map((r) => `${r.id.slice(-2)} ${r.status}${r.exitCode !== undefined ? ` ${r.exitCode}` : ""}`);

describe("JobScheduler", () => {
  it("runs a one-off container per tick and records exit codes and logs, newest first, trimmed to the history size", async () => {
    const { scheduler, timers, runner, events, spec, store } = setup({ job: { history: 3 } });
    expect(scheduler.sync(spec)).toEqual(['job: scheduled "cron-job", next run 2025-01-01T03:16:40.000Z']);
    for (let i = 1; i <= 4; i++) {
      timers.fire("cron-job", sec(i));
      await flush();
      const [c] = runner.running("job");
      expect(c?.name).toBe(`app-job-job-20250101-03000${i}`);
      expect(scheduler.view("app")[0]!.running.map((r) => r.id)).toEqual([`20250101-03000${i}`]);
      c!.exit!(i % 2);
      await flush();
    }
    expect(history(scheduler, "job")).toEqual(["04 succeeded 0", "03 failed 1", "02 succeeded 0"]);
    const last = scheduler.view("app")[0]!.history[0]!;
    expect(last).toMatchObject({ container: "app-job-job-20250101-030004", log: ["output of c4"], startedAt: expect.any(String) as string, finishedAt: expect.any(String) as string });
    expect(runner.containers.size).toBe(0);
    expect(runner.removed).toEqual(["c1", "c2", "c3", "c4"]);
    expect(events.map((e) => `${e.action} ${e.run.id.slice(-2)}`)).toEqual(["start 01", "finish 01", "start 02", "finish 02", "start 03", "finish 03", "start 04", "finish 04"]);
    expect(events.every((e) => e.run.log === undefined)).toBe(true);
    // Persisted as it went.
    expect(store.load("app")!.services.job!.history).toHaveLength(3);
    expect(store.load("app")!.services.job!.lastTick).toBe(sec(4));
  });

  it("overlap skip: a slot due while a run runs is recorded as skipped", async () => {
    const { scheduler, timers, runner, spec } = setup({ job: { overlap: "skip" } });
    scheduler.sync(spec);
    timers.fire("cron-job", sec(1));
    await flush();
    timers.fire("cron-job", sec(2));
    timers.fire("cron-job", sec(3));
    await flush();
    expect(runner.running("job")).toHaveLength(1);
    runner.running("job")[0]!.exit!(0);
    await flush();
    expect(history(scheduler, "job")).toEqual(["03 skipped", "02 skipped", "01 succeeded 0"]);
  });

  it("overlap queue: one slot waits for the running run, the next is skipped; the queued one runs after", async () => {
    const { scheduler, timers, runner, spec, events } = setup({ job: { overlap: "queue" } });
    scheduler.sync(spec);
    timers.fire("cron-job", sec(1));
    await flush();
    timers.fire("cron-job", sec(2));
    timers.fire("cron-job", sec(3));
    await flush();
    expect(scheduler.view("app")[0]!.queued).toBe(new Date(sec(2)).toISOString());
    runner.running("job")[0]!.exit!(0);
    await flush();
    expect(runner.running("job").map((c) => c.runId)).toEqual(["20250101-030002"]);
    runner.running("job")[0]!.exit!(5);
    await flush();
    expect(history(scheduler, "job")).toEqual(["03 skipped", "02 failed 5", "01 succeeded 0"]);
    expect(events.map((e) => e.action)).toContain("queue");
    // Slot 3 was acted on (skipped): firing it again does nothing.
    timers.fire("cron-job", sec(3));
    await flush();
    expect(runner.running("job")).toEqual([]);
  });

  it("overlap allow: runs side by side", async () => {
    const { scheduler, timers, runner, spec } = setup({ job: { overlap: "allow" } });
    scheduler.sync(spec);
    timers.fire("cron-job", sec(1));
    timers.fire("cron-job", sec(2));
    await flush();
    expect(runner.running("job")).toHaveLength(2);
    for (const c of runner.running("job")) c.exit!(0);
    await flush();
    expect(history(scheduler, "job")).toEqual(["02 succeeded 0", "01 succeeded 0"]);
  });

  it("a command that cannot start is a failed run with its exit code and reason", async () => {
    const { scheduler, timers, runner, spec } = setup({ job: {} });
    runner.failStart.add("job");
    scheduler.sync(spec);
    timers.fire("cron-job", sec(1));
    await flush();
    const [run] = scheduler.view("app")[0]!.history;
    expect(run).toMatchObject({ status: "failed", exitCode: 127, reason: "exec: no such file" });
    expect(runner.containers.size).toBe(0);
  });

  it("a daemon restart: running containers are adopted (recorded once), finished ones recorded, never-created runs marked interrupted, and no slot runs again", async () => {
    const first = setup({ a: {}, b: {}, c: {}, d: { overlap: "queue" } });
    first.scheduler.sync(first.spec);
    for (const cron of ["cron-a", "cron-b", "cron-c", "cron-d"]) first.timers.fire(cron, sec(1));
    await flush();
    first.timers.fire("cron-d", sec(2)); // queued behind d's first run
    await flush();
    // The daemon is killed (-9): nothing more happens in this process. Meanwhile b's container exits.
    first.scheduler.close();
    const [b] = first.runner.running("b");
    b!.exit!(3);
    await flush();
    // c never got its container: simulate by dropping it, as if the daemon had died before create.
    const [c] = first.runner.running("c");
    first.runner.containers.delete(c!.id);
    expect(first.store.load("app")!.services.a!.running).toHaveLength(1);

    const second = setup({ a: {}, b: {}, c: {}, d: { overlap: "queue" } }, { store: first.store, runner: first.runner });
    second.scheduler.sync(second.spec);
    await flush();
    expect(history(second.scheduler, "b")).toEqual(["01 failed 3"]);
    expect(history(second.scheduler, "c")).toEqual(["01 interrupted"]);
    expect(history(second.scheduler, "d")).toEqual(["02 interrupted"]);
    expect(second.scheduler.view("app").find((j) => j.service === "a")!.running.map((r) => r.id)).toEqual(["20250101-030001"]);
    // The same slot firing again (a clock step, a restart within the second) does not run it twice.
    second.timers.fire("cron-a", sec(1));
    await flush();
    expect(first.runner.running("a")).toHaveLength(1);
    first.runner.running("a")[0]!.exit!(0);
    first.runner.running("d")[0]!.exit!(0);
    await flush();
    expect(history(second.scheduler, "a")).toEqual(["01 succeeded 0"]);
    expect(history(second.scheduler, "d")).toEqual(["02 interrupted", "01 succeeded 0"]);
    expect(second.events.filter((e) => e.action === "finish").map((e) => `${e.service} ${e.run.exitCode}`).sort()).toEqual(["a 0", "b 3", "c undefined", "d 0"]);
    expect(first.runner.containers.size).toBe(0);
    // The next slot runs as usual.
    second.timers.fire("cron-a", sec(2));
    await flush();
    expect(first.runner.running("a").map((x) => x.runId)).toEqual(["20250101-030002"]);
  });

  it("after a restart, a finished container whose run was already recorded is only removed", async () => {
    const store = new MemoryStore();
    const runner = new FakeRunner();
    const done = newRun(sec(1), "succeeded", { exitCode: 0, containerId: "old" });
    store.save({ project: "app", services: { job: { lastTick: sec(1), running: [], queued: undefined, history: [done] } } });
    runner.add({ id: "old", name: "app-job-job-20250101-030001", service: "job", runId: done.id, tick: done.tick, state: "exited", exitCode: 0 });
    const { scheduler, spec, events } = setup({ job: {} }, { store, runner });
    scheduler.sync(spec);
    await flush();
    expect(runner.removed).toEqual(["old"]);
    expect(history(scheduler, "job")).toEqual(["01 succeeded 0"]);
    expect(events).toEqual([]);
  });

  it("down: no more runs, nothing recorded after, the state forgotten; a run waiting for the stack's lock is not created", async () => {
    const { scheduler, timers, runner, spec, store, events } = setup({ job: { overlap: "allow" } });
    scheduler.sync(spec);
    timers.fire("cron-job", sec(1));
    await flush();
    let release!: () => void;
    runner.lock = new Promise((r) => (release = r));
    timers.fire("cron-job", sec(2));
    await flush();
    scheduler.stop("app");
    release();
    runner.running("job")[0]!.exit!(137);
    await flush();
    expect([...runner.containers.values()].filter((c) => c.runId.endsWith("02"))).toEqual([]);
    expect(timers.active.size).toBe(0);
    expect(store.load("app")).toBeUndefined();
    expect(events.map((e) => e.action)).toEqual(["start"]);
    expect(scheduler.view("app")).toEqual([]);
  });

  it("down while a created run waits for the lock to start: it never starts, and down finds it created", async () => {
    const { scheduler, timers, runner, spec, events } = setup({ job: {} });
    scheduler.sync(spec);
    let release!: () => void;
    runner.startLock = new Promise((r) => (release = r));
    timers.fire("cron-job", sec(1));
    await flush();
    expect([...runner.containers.values()].map((c) => c.state)).toEqual(["created"]);
    scheduler.stop("app");
    release();
    await flush();
    expect([...runner.containers.values()].map((c) => c.state)).toEqual(["created"]);
    expect(events).toEqual([]);
  });

  it("up SERVICE: a job outside the selection is not scheduled, and one already scheduled is left as it is", () => {
    const { scheduler, timers, spec } = setup({ a: {}, b: {} });
    expect(scheduler.sync(spec, new Set(["a", "web"]))).toEqual(['a: scheduled "cron-a", next run 2025-01-01T03:16:40.000Z']);
    expect([...timers.active.keys()]).toEqual(["cron-a"]);
    expect(scheduler.sync(spec, new Set(["b"]))).toEqual(['b: scheduled "cron-b", next run 2025-01-01T03:16:40.000Z']);
    expect([...timers.active.keys()].sort()).toEqual(["cron-a", "cron-b"]);
    // An edit of a's schedule is not taken up by an up of b alone.
    const edited = structuredClone(spec);
    edited.services.a!.supervision.schedule!.cron = "cron-a2";
    scheduler.sync(edited, new Set(["b"]));
    expect([...timers.active.keys()].sort()).toEqual(["cron-a", "cron-b"]);
    expect(scheduler.view("app").map((j) => j.service).sort()).toEqual(["a", "b"]);
    scheduler.sync(edited);
    expect([...timers.active.keys()].sort()).toEqual(["cron-a2", "cron-b"]);
  });

  it("a reload follows schedule edits: a new cron gets a new timer, a removed schedule stops", () => {
    const { scheduler, timers, spec } = setup({ a: {}, b: {} });
    scheduler.sync(spec);
    expect([...timers.active.keys()].sort()).toEqual(["cron-a", "cron-b"]);
    const edited = structuredClone(spec);
    edited.services.a!.supervision.schedule!.cron = "cron-a2";
    edited.services.b!.supervision.schedule = undefined;
    scheduler.sync(edited);
    expect([...timers.active.keys()]).toEqual(["cron-a2"]);
    expect(scheduler.view("app").map((j) => `${j.service} ${j.schedule.cron}`)).toEqual(["a cron-a2"]);
    // An unchanged schedule keeps its timer.
    scheduler.sync(edited);
    expect(timers.created).toEqual(["cron-a", "cron-b", "cron-a2"]);
  });
});

describe("cronTimer (node-cron)", () => {
  it("hands over each slot as a whole second, knows the next one, and stops", async () => {
    const slots: Date[] = [];
    const timer = cronTimer({ cron: "* * * * * *", timezone: "UTC", overlap: "skip", history: 1 }, (d) => slots.push(d));
    expect(timer.nextRun()!.getTime() % 1000).toBe(0);
    await eventually(() => slots.length, (n) => n >= 2, 10_000, "two slots", 50);
    timer.stop();
    for (const d of slots) expect(d.getTime() % 1000).toBe(0);
    const count = slots.length;
    // "No slot after stop" has no event of its own: a control timer on the same schedule, left running,
    // shows two slots did come in the meantime, so the stopped one was given the chance and stayed silent.
    const control: Date[] = [];
    const running = cronTimer({ cron: "* * * * * *", timezone: "UTC", overlap: "skip", history: 1 }, (d) => control.push(d));
    try {
      await eventually(() => control.length, (n) => n >= 2, 10_000, "two slots of the control timer", 50);
    } finally {
      running.stop();
    }
    expect(slots.length).toBe(count);
  });

  it("a schedule the timer refuses is logged, not fatal", () => {
    const { spec, logs } = setup({ job: {} });
    const broken = new JobScheduler({
      runner: new FakeRunner(),
      store: new MemoryStore(),
      timer: () => {
        throw new Error("bad cron");
      },
      publish: () => undefined,
      log: { info: () => undefined, warn: (m) => logs.push(`WARN ${m}`) },
    });
    expect(broken.sync(spec)).toEqual(['job: scheduled "cron-job", next run never']);
    expect(logs).toContain("WARN cannot schedule job");
  });
});
