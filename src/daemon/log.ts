// The daemon's log: one JSON object per line with the time, the level, the
// message and context fields (stack, service, container), so every line says
// what it is about and can be grepped or parsed.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export type Fields = Record<string, unknown>;

export interface Logger {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export function fileLogger(path: string, alsoStderr = false): Logger {
  mkdirSync(dirname(path), { recursive: true });
  const write = (level: string, msg: string, fields: Fields = {}): void => {
    const line = `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`;
    // Synchronous on purpose: the last lines before a crash are the ones that matter.
    // 0600 when created: errors may quote a container's environment.
    appendFileSync(path, line, { mode: 0o600 });
    if (alsoStderr) process.stderr.write(line);
  };
  return {
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}
