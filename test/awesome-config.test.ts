// `config` on real-world files: a few docker/awesome-compose samples
// (test/stacks/awesome, copied unchanged) load, print and mean what
// docker-compose 1.29 makes of them. As in config-conformance.test.ts, meaning
// is compared, not text: docker-compose's output is loaded with our loader and
// compared with our loading of the original. The samples use keys tscompose
// does not run yet (runtime, platform, build): config must still print them.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import type { StackSpec } from "../model/stack.js";
import { loadStack } from "../src/stack/load.js";
import { renderStack } from "../src/stack/render.js";
import { meaning } from "./support/config-meaning.js";

const samples = resolve(import.meta.dirname, "stacks/awesome");
const scratch = mkdtempSync(join(tmpdir(), "tscompose-test-awesome-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };
const names = readdirSync(samples, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

/** A scratch copy of the sample with the build contexts it names, which docker-compose 1.29 requires to exist. */
function sample(name: string): string {
  const dir = join(scratch, name);
  cpSync(join(samples, name), dir, { recursive: true });
  const file = readdirSync(dir).find((f) => /^compose\.ya?ml$/.test(f)) as string;
  const doc = parse(readFileSync(join(dir, file), "utf8")) as { services: Record<string, { build?: string | { context?: string } }> };
  for (const svc of Object.values(doc.services)) {
    const context = typeof svc.build === "string" ? svc.build : svc.build?.context;
    if (context !== undefined) mkdirSync(resolve(dir, context), { recursive: true });
  }
  return dir;
}

const load = (files: string[], project: string, projectDirectory: string, cwd: string): StackSpec =>
  loadStack({ files, projectName: project, projectDirectory, envFiles: [], profiles: [], env, cwd }).stack;

describe("awesome-compose samples: config means what docker-compose 1.29 says", () => {
  it("has samples", () => expect(names.length).toBeGreaterThanOrEqual(5));
  for (const name of names) {
    it(name, () => {
      const dir = sample(name);
      // Compose names a project after its directory, lowercased (pihole-cloudflared-DoH).
      const project = name.toLowerCase();
      const mine = load([], project, dir, dir);
      const output = execFileSync("docker-compose", ["-p", project, "config"], { cwd: dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      const theirFile = join(scratch, `${name}-docker-compose.yml`);
      writeFileSync(theirFile, output);
      const reference = load([theirFile], project, dir, scratch);
      expect(Object.keys(mine.services).sort()).toEqual(Object.keys(reference.services).sort());
      for (const svc of Object.keys(mine.services)) {
        expect({ service: svc, ...meaning(mine.services[svc]!) }).toEqual({ service: svc, ...meaning(reference.services[svc]!) });
      }
      expect(mine.volumes).toEqual(reference.volumes);
      expect(mine.secrets).toEqual(reference.secrets);
      expect(mine.configs).toEqual(reference.configs);
      expect(mine.networks).toEqual(reference.networks);

      // Our own output loads back to the same stack.
      const ownFile = join(scratch, `${name}-ours.yml`);
      writeFileSync(ownFile, stringify(renderStack(mine)));
      const again = load([ownFile], project, dir, scratch);
      for (const svc of Object.keys(mine.services)) expect(meaning(again.services[svc]!)).toEqual(meaning(mine.services[svc]!));
    });
  }

  it("keys the engine does not run yet are printed: runtime and platform of a wasm service", () => {
    const dir = sample("wasmedge-mysql-nginx");
    const out = renderStack(load([], "wasm", dir, dir)) as { services: { backend: Record<string, unknown> } };
    expect(out.services.backend).toMatchObject({ runtime: "io.containerd.wasmedge.v1", platform: "wasi/wasm", build: { context: join(dir, "backend") } });
  });
});
