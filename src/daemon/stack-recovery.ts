// Stacks whose saved record was unreadable at the daemon's start: their
// containers name the stack's files and directory (compose's labels), so the
// stack is loaded from there and supervised (restart policies, health) as it
// runs now. It is not re-synced: the environment the CLI loaded it with is not
// known, and a different interpolation must not recreate anything. `up`
// replaces it.
import type { Engine } from "../../engine/types.js";
import { LABEL } from "../../model/labels.js";
import { addBuildInputs } from "./build-inputs.js";
import { loadStack } from "../stack/load.js";
import type { Logger } from "./log.js";
import type { StackStore } from "./stacks.js";

export async function recoverUnreadableStacks(engine: Engine, stacks: StackStore, log: Logger): Promise<void> {
  for (const u of stacks.unreadable()) {
    const mine = await engine.listContainers({ all: true, labels: { [LABEL.project]: u.name } });
    const labels = mine.find((c) => c.labels[LABEL.configFiles] && c.labels[LABEL.workingDir])?.labels;
    const files = labels?.[LABEL.configFiles]?.split(",").filter(Boolean) ?? [];
    const dir = labels?.[LABEL.workingDir];
    if (files.length === 0 || dir === undefined) {
      log.error("stack record unreadable and no container names its files: containers left as they are, not supervised until `up`", { stack: u.name, file: u.file });
      continue;
    }
    const project = { files, projectName: u.name, projectDirectory: dir, envFiles: [], profiles: [], env: {}, cwd: dir };
    try {
      const spec = loadStack({ ...project }).stack;
      await addBuildInputs(spec);
      stacks.adopt({ name: u.name, project, spec, options: {}, stoppedByUser: [], updatedAt: new Date().toISOString(), rebuilt: true });
      log.warn("stack record unreadable: supervising the stack as loaded from the files its containers name; run `up` to save a new record", { stack: u.name, file: u.file, files });
    } catch (err) {
      log.error("stack record unreadable and its files do not load: containers left as they are, not supervised until `up`", { stack: u.name, file: u.file, error: (err as Error).message });
    }
  }
}
