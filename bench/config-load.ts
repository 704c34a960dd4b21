// Loading stacks: `tscompose config` against `docker-compose config` on a
// typical 5-service stack and a generated 200-service one, same files, same run.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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
} finally {
  rmSync(dir, { recursive: true, force: true });
}
