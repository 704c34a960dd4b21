// tscompose --version against docker-compose version: how fast the CLI starts.
import { resolve } from "node:path";
import { compare, report, timeCommand } from "./harness.js";

const bin = resolve(import.meta.dirname, "../../bin/tscompose");
const rounds = Number(process.env.ROUNDS ?? 15);
const samples = compare(
  [
    { name: "docker-compose version", run: () => timeCommand("docker-compose", ["version", "--short"]) },
    { name: "tscompose --version", run: () => timeCommand(bin, ["--version"]) },
    { name: "tscompose config --help", run: () => timeCommand(bin, ["config", "--help"]) },
    { name: "node -e 0 (floor)", run: () => timeCommand(process.execPath, ["-e", "0"]) },
  ],
  rounds,
);
report("CLI start-up", samples, "docker-compose version");
