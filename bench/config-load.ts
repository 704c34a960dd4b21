// Loading stacks: `tscompose config` against `docker-compose config` on a
// typical 5-service stack and a generated 200-service one, same files, same run.
// Then what parse-fast.ts (the YAML fast path) saves: `tscompose config` with
// it and without it (TSCOMPOSE_YAML_FAST=0) on the examples and the generated
// stacks, and the loader alone in this process, as the daemon runs it for `up`
// (the CLI's `up` does not load the stack).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadStack } from "../src/stack/load.js";
import { compare, report, timeCommand } from "./harness.js";

const bin = resolve(import.meta.dirname, "../../bin/tscompose");
const rounds = Number(process.env.ROUNDS ?? 10);
const dir = mkdtempSync(join(tmpdir(), "tscompose-bench-config-"));

function service(i: number, total: number): string {
  const deps = i > 0 ? `    depends_on:\n      - svc${i - 1}\n` : "";
  return `  svc${i}:
    image: registry.local/app/svc${i}:\${TAG:-1.0}
    command: ["run", "--id", "${i}"]
    environment:
      SERVICE_ID: "${i}"
      TOTAL: "${total}"
      DB_URL: postgres://db:5432/app
    ports:
      - "${20000 + i}:8080"
    volumes:
      - ./data/svc${i}:/data
      - shared:/shared:ro
    labels:
      com.example.index: "${i}"
    healthcheck:
      test: ["CMD", "true"]
      interval: 10s
    deploy:
      resources:
        limits:
          memory: 64m
${deps}`;
}

function stack(n: number): string {
  let out = "services:\n";
  for (let i = 0; i < n; i++) out += service(i, n);
  return `${out}volumes:\n  shared: {}\n`;
}

const examples = resolve(import.meta.dirname, "../../examples");
const withoutFast = { TSCOMPOSE_YAML_FAST: "0" };

/** Runs fn `times` times; the time of the whole batch, so that sub-millisecond loads still measure. */
function timeInProcess(fn: () => void, times: number, env: Record<string, string> = {}): number {
  const saved = process.env.TSCOMPOSE_YAML_FAST;
  if (env.TSCOMPOSE_YAML_FAST === undefined) delete process.env.TSCOMPOSE_YAML_FAST;
  else process.env.TSCOMPOSE_YAML_FAST = env.TSCOMPOSE_YAML_FAST;
  const start = process.hrtime.bigint();
  try {
    for (let i = 0; i < times; i++) fn();
  } finally {
    if (saved === undefined) delete process.env.TSCOMPOSE_YAML_FAST;
    else process.env.TSCOMPOSE_YAML_FAST = saved;
  }
  return Number(process.hrtime.bigint() - start) / 1e6 / times;
}

try {
  for (const n of [5, 200]) {
    const file = join(dir, `stack-${n}.yml`);
    writeFileSync(file, stack(n));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME };
    const samples = compare(
      [
        { name: "docker-compose config", run: () => timeCommand("docker-compose", ["-p", "bench", "-f", file, "config"], { env }) },
        { name: "tscompose config", run: () => timeCommand(bin, ["-p", "bench", "-f", file, "config"], { env }) },
        { name: "tscompose config -q", run: () => timeCommand(bin, ["-p", "bench", "-f", file, "config", "-q"], { env }) },
      ],
      rounds,
    );
    report(`config of a ${n}-service stack`, samples, "docker-compose config");
  }

  const stacks: [string, string[]][] = [
    ["examples/webapp", [join(examples, "webapp/compose.yaml")]],
    ["examples/profiles", [join(examples, "profiles/compose.yaml"), join(examples, "profiles/compose.override.yaml")]],
    ["generated, 50 services", [join(dir, "stack-50.yml")]],
    ["generated, 200 services", [join(dir, "stack-200.yml")]],
  ];
  writeFileSync(join(dir, "stack-50.yml"), stack(50));
  for (const [name, files] of stacks) {
    const args = ["-p", "bench", ...files.flatMap((f) => ["-f", f]), "config"];
    const env = { PATH: process.env.PATH, HOME: process.env.HOME };
    const samples = compare(
      [
        { name: "config without the fast path", run: () => timeCommand(bin, args, { env: { ...env, ...withoutFast } }) },
        { name: "config", run: () => timeCommand(bin, args, { env }) },
      ],
      rounds,
    );
    report(`tscompose config, ${name}: parse-fast.ts on and off`, samples, "config without the fast path");
    const opts = { files, envFiles: [], profiles: [], env: { PATH: process.env.PATH }, cwd: dir };
    const times = name.startsWith("generated") ? 5 : 200;
    const loads = compare(
      [
        { name: "loadStack without the fast path", run: () => timeInProcess(() => loadStack(opts), times, withoutFast) },
        { name: "loadStack", run: () => timeInProcess(() => loadStack(opts), times) },
      ],
      rounds,
    );
    report(`the loader in a warm process (the daemon's up), ${name}`, loads, "loadStack without the fast path");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
