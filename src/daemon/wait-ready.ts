// `up --wait`: polls the stack until every service is running (healthy when
// it has a check), a one-shot that exited 0 counting as done, and fails as
// soon as a container exited that no restart policy brings back (compose's
// rule). `up --wait SERVICE...` waits for those services and their
// dependencies only, as compose does: the others are not being started.
import type { Engine } from "../../engine/types.js";
import { conditionMet } from "../../reconciler/apply.js";
import type { HealthSource } from "../../reconciler/apply.js";
import { LABEL } from "../../model/labels.js";
import { policyOf } from "../../reconciler/restart-policy.js";
import type { StackSpec } from "../../model/stack.js";
import type { StreamMessage } from "./api.js";

export async function waitReady(
  engine: Engine,
  health: HealthSource,
  spec: StackSpec,
  timeoutMs: number,
  emit: (m: StreamMessage) => void,
  only?: ReadonlySet<string>,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const containers = await engine.listContainers({ all: true, labels: { [LABEL.project]: spec.name, [LABEL.oneoff]: "False" } });
    let pending: string | undefined;
    for (const svc of Object.values(spec.services)) {
      // A scheduled job runs on its own clock, and a service scaled to 0 has nothing to wait for.
      if (svc.supervision.schedule || svc.replicas === 0 || (only && !only.has(svc.name))) continue;
      const mine = containers.filter((c) => c.labels[LABEL.service] === svc.name);
      const oneShot = mine.length > 0 && mine.every((c) => c.state === "exited" && c.exitCode === 0 && svc.restart === "no");
      if (oneShot) continue;
      // As compose's --wait: a container that exited and that no restart policy brings back has failed.
      const dead = mine.find((c) => (c.state === "exited" || c.state === "dead") && policyOf(svc).condition === "none");
      if (dead) {
        emit({ type: "error", message: `container ${dead.name} exited (${dead.exitCode ?? "?"})` });
        return false;
      }
      const hasCheck = mine.some((c) => health.health(c.id) !== undefined);
      const verdict = conditionMet({ service: svc.name, condition: hasCheck ? "service_healthy" : "service_started" }, mine, health);
      if (typeof verdict === "string") {
        emit({ type: "error", message: verdict });
        return false;
      }
      if (!verdict || mine.some((c) => c.state !== "running" && !hasCheck)) pending = svc.name;
    }
    if (!pending) return true;
    if (Date.now() > deadline) {
      emit({ type: "error", message: `timed out waiting for ${pending}` });
      return false;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
