// `down --rmi local|all` on the embedded engine (compose's flag): `local`
// removes the images the stack built under the default `<project>-<service>`
// name, `all` every service's image; an image another stack's container still
// uses stays, and down says so. An unknown flag takes nothing down.
// The docker engine's side is in engines-per-stack.e2e.test.ts (its dockerd).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/e2e.js";
import { isRoot, missing } from "./support/requires.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const mine = `trmi${process.pid}`;
const other = `trmo${process.pid}`;

const SLEEP = 'command: ["sleep", "3600"]';
// `app` is built (no image: the default name); `web` names busybox, as `other`'s service does.
const MINE = `services:\n  app:\n    build: ./app\n    ${SLEEP}\n  web:\n    image: busybox\n    ${SLEEP}\n`;
const OTHER = `services:\n  other:\n    image: busybox\n    ${SLEEP}\n`;

describe.skipIf(missing("root", isRoot))("down --rmi", () => {
  beforeAll(async () => {
    s = await startStackSuite("down-rmi");
    for (const [name, stack] of [
      [mine, MINE],
      [other, OTHER],
    ] as const) {
      mkdirSync(join(s.work, name));
      writeFileSync(join(s.work, name, "compose.yaml"), stack);
      s.projects.push({ name, cwd: join(s.work, name) });
    }
    mkdirSync(join(s.work, mine, "app"));
    // A LABEL makes an image of its own (another ID than busybox's) without running a step.
    writeFileSync(join(s.work, mine, "app", "Dockerfile"), "FROM busybox\nLABEL made-by=down-rmi\n");
  }, 300_000);

  afterAll(async () => {
    expect(await stopStackSuite(s, ["-t", "0"])).toEqual([]);
  }, 180_000);

  const cli = (project: string, args: string[]) => runCli(s.daemon, args, { cwd: join(s.work, project) });
  const ok = (project: string, args: string[]): string => {
    const r = cli(project, args);
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const images = (): string[] => ok(mine, ["images", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n").filter(Boolean).sort();
  const containers = (project: string): string[] => ok(project, ["ps", "-a", "-q"]).split("\n").filter(Boolean);

  it("an unknown flag is named, exits 1 and takes nothing down", () => {
    ok(mine, ["up", "-d"]);
    expect(containers(mine)).toHaveLength(2);
    const r = cli(mine, ["down", "--rmix", "local"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^unknown flag: --rmix\n/);
    expect(r.stdout).toBe("");
    expect(containers(mine)).toHaveLength(2);
  }, 300_000);

  it("local removes the image built under the default name and keeps busybox", () => {
    expect(images()).toEqual(["busybox:latest", `${mine}-app:latest`]);
    const dry = ok(mine, ["down", "--dry-run", "--rmi", "local"]);
    expect(dry).toMatch(new RegExp(`DRY-RUN MODE - +Image ${mine}-app\\s+Removed`));
    expect(images()).toEqual(["busybox:latest", `${mine}-app:latest`]);
    expect(containers(mine)).toHaveLength(2);
    const down = ok(mine, ["down", "--rmi", "local", "-t", "0"]);
    expect(down).toMatch(new RegExp(`Image ${mine}-app\\s+Removed`));
    expect(down).not.toMatch(/Image busybox/);
    expect(containers(mine)).toEqual([]);
    expect(images()).toEqual(["busybox:latest"]);
  }, 300_000);

  it("all removes every service's image, except one another stack's container uses, which it names", () => {
    ok(other, ["up", "-d"]);
    ok(mine, ["up", "-d"]);
    expect(images()).toEqual(["busybox:latest", `${mine}-app:latest`]);
    const down = ok(mine, ["down", "--rmi", "all", "-t", "0"]);
    expect(down).toMatch(new RegExp(`Image ${mine}-app\\s+Removed`));
    expect(down).toMatch(new RegExp(`Image busybox\\s+Resource is still in use \\(container ${other}-other-1\\)`));
    expect(images()).toEqual(["busybox:latest"]);
    // The other stack runs on, untouched; once it is down too, its own --rmi all removes busybox.
    expect(ok(other, ["ps", "--format", "{{.State}}"]).trim()).toBe("running");
    expect(ok(other, ["down", "--rmi", "all", "-t", "0"])).toMatch(/Image busybox\s+Removed/);
    expect(images()).toEqual([]);
  }, 300_000);
});
