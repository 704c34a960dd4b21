// Readiness probes (x-tscompose readiness): run by the daemon from the host,
// not inside the container, so an image needs no curl/nc/healthcheck script.
//   tcp   a connection to the container's port is accepted
//   http  GET http://<container>:<port><path> answers 2xx
//   log   a line of the container's output (since its start) matches a regex
// The container is reached at its address on its first network; with
// `network_mode: host` it shares the host's, so 127.0.0.1.
import { request } from "node:http";
import { connect } from "node:net";
import type { ContainerInfo, Engine } from "../../../engine/types.js";
import type { ReadinessProbe } from "../../../model/stack.js";

export interface ProbeResult {
  exitCode: number;
  output: string;
}

export interface Probe {
  run(signal: AbortSignal): Promise<ProbeResult>;
  /** Releases what the probe holds (the log follower). */
  close(): void;
}

/** Where the daemon reaches the container; undefined when it has no address (network_mode none). */
export function probeHost(c: ContainerInfo, networkMode: string | undefined): string | undefined {
  if (networkMode === "host") return "127.0.0.1";
  return Object.values(c.networks).find((n) => n.ipAddress !== "")?.ipAddress;
}

export function readinessProbe(engine: Engine, c: ContainerInfo, probe: ReadinessProbe, networkMode: string | undefined): Probe {
  if (probe.kind === "log") return logProbe(engine, c, probe.pattern);
  const host = probeHost(c, networkMode);
  const where = `${host ?? "?"}:${probe.port}`;
  const noAddress = (): Promise<ProbeResult> => Promise.resolve({ exitCode: 1, output: `container ${c.name} has no network address to probe` });
  if (probe.kind === "tcp") {
    return { run: (signal) => (host ? tcpProbe(host, probe.port, signal, where) : noAddress()), close: () => undefined };
  }
  return { run: (signal) => (host ? httpProbe(host, probe.port, probe.path, signal) : noAddress()), close: () => undefined };
}

function tcpProbe(host: string, port: number, signal: AbortSignal, where: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, signal });
    socket.once("connect", () => {
      socket.destroy();
      resolve({ exitCode: 0, output: `${where} accepted a connection` });
    });
    socket.once("error", (err) => resolve({ exitCode: 1, output: `${where}: ${err.message}` }));
  });
}

function httpProbe(host: string, port: number, path: string, signal: AbortSignal): Promise<ProbeResult> {
  const url = `http://${host}:${port}${path}`;
  return new Promise((resolve) => {
    // node:http rather than undici: the daemon already has it loaded, and one
    // GET per interval needs no connection pool.
    const req = request({ host, port, path, method: "GET", signal, headers: { "user-agent": "tscompose-readiness" } }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({ exitCode: code >= 200 && code < 300 ? 0 : 1, output: `GET ${url}: HTTP ${code}` });
    });
    req.once("error", (err) => resolve({ exitCode: 1, output: `GET ${url}: ${err.message}` }));
    req.end();
  });
}

/** Follows the container's log from its start; the probe succeeds once a line has matched. */
function logProbe(engine: Engine, c: ContainerInfo, pattern: string): Probe {
  const re = new RegExp(pattern);
  const abort = new AbortController();
  let matched: string | undefined;
  let failure: string | undefined;
  const since = c.startedAt ? Date.parse(c.startedAt) : undefined;
  void (async () => {
    try {
      for await (const e of engine.logs(c.id, { follow: true, sinceMs: since, signal: abort.signal })) {
        if (re.test(e.line)) {
          matched = e.line;
          break;
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) failure = (err as Error).message;
    }
  })();
  return {
    run: () =>
      Promise.resolve(
        matched !== undefined
          ? { exitCode: 0, output: `log line matched /${pattern}/: ${matched.slice(0, 200)}` }
          : { exitCode: 1, output: failure ?? `no log line matches /${pattern}/ yet` },
      ),
    close: () => abort.abort(),
  };
}
