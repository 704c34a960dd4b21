// The scheduler's hands on the engine: a scheduled job's run is a one-off
// container made as `tscompose run` makes it (src/daemon/run.ts: oneoff
// label, so the planner never adopts it and down removes it), named
// `<project>-<service>-job-<run id>` and labelled with its run and slot, so a
// daemon started again finds it by labels alone.
import type { ContainerInfo } from "../../engine/types.js";
import { JOB_LABEL, LABEL } from "../../model/labels.js";
import type { StackController } from "./controller.js";
import { createRunContainer } from "./run.js";
import type { JobRun } from "./api.js";
import type { JobContainer, JobRunner } from "./scheduler.js";

export class EngineJobRunner implements JobRunner {
  constructor(private readonly controller: StackController) {}

  containerName(project: string, service: string, runId: string): string {
    return `${project}-${service}-job-${runId}`;
  }

  async create(project: string, service: string, run: JobRun, stillWanted: () => boolean): Promise<{ id: string; name: string }> {
    const record = this.controller.stacks.get(project);
    if (!record) throw new Error(`stack ${project} is not known to the daemon`);
    const c = await createRunContainer(
      this.controller,
      record.spec,
      {
        project: record.project,
        service,
        name: this.containerName(project, service, run.id),
        labels: { [JOB_LABEL.run]: run.id, [JOB_LABEL.tick]: run.tick },
        // The job knows which slot it runs for, even when it starts late (queued): its run id and the slot in Unix seconds.
        env: [`TSCOMPOSE_JOB_RUN=${run.id}`, `TSCOMPOSE_JOB_TIME=${Math.floor(Date.parse(run.tick) / 1000)}`],
      },
      () => undefined,
      () => {
        if (!stillWanted()) throw new Error("the schedule was stopped before the run could start");
      },
    );
    return { id: c.id, name: c.name };
  }

  async start(project: string, id: string, stillWanted: () => boolean): Promise<void> {
    const engine = this.controller.engine;
    try {
      await this.controller.serialize(project, async () => {
        if (!stillWanted()) throw new Error("the schedule was stopped before the run could start");
        await engine.startContainer(id);
      });
    } catch (err) {
      // A command that cannot start ends as docker's does: 126/127 on the container.
      const code = (await engine.inspectContainer(id).catch(() => undefined))?.exitCode;
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { exitCode: code !== undefined && code > 0 ? code : undefined });
    }
  }

  async wait(id: string): Promise<{ exitCode: number; startedAt: string | undefined; finishedAt: string | undefined }> {
    const { exitCode } = await this.controller.engine.waitContainer(id);
    const info = await this.controller.engine.inspectContainer(id).catch(() => undefined);
    return { exitCode, startedAt: info?.startedAt, finishedAt: info?.finishedAt };
  }

  async logTail(id: string, lines: number): Promise<string[]> {
    const out: string[] = [];
    for await (const e of this.controller.engine.logs(id, { tail: lines })) out.push(e.line);
    return out.slice(-lines);
  }

  /** Under the stack's lock: a down that already listed the container removes it itself. */
  async remove(project: string, id: string): Promise<void> {
    await this.controller.serialize(project, async () => {
      if (!(await this.controller.engine.inspectContainer(id))) return;
      this.controller.health.untrack(id);
      await this.controller.engine.removeContainer(id, { force: true, volumes: true });
    });
  }

  async list(project: string): Promise<JobContainer[]> {
    const all = await this.controller.engine.listContainers({ all: true, labels: { [LABEL.project]: project, [JOB_LABEL.run]: undefined } });
    return all.map((c: ContainerInfo) => ({
      id: c.id,
      name: c.name,
      service: c.labels[LABEL.service] ?? "",
      runId: c.labels[JOB_LABEL.run] ?? "",
      tick: c.labels[JOB_LABEL.tick],
      state: c.state,
      exitCode: c.exitCode,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
    }));
  }
}
