// Build progress as docker compose prints it. Not a terminal: BuildKit's plain
// lines, numbered across every service's build (`#5 [web 2/4] RUN make`,
// `#5 CACHED`, `#5 0.123 output`, `#5 DONE 0.3s`, `#5 ERROR: ...`). A
// terminal: one compact line per service as it finishes a step.
import type { BuildMessage } from "../daemon/api.js";

export interface BuildPrinterOptions {
  /** -q: nothing but errors. */
  quiet?: boolean;
  tty?: boolean;
  write?: (text: string) => void;
  now?: () => number;
}

export class BuildPrinter {
  private readonly numbers = new Map<string, number>();
  private readonly started = new Map<number, number>();
  private next = 1;
  private readonly write: (text: string) => void;
  private readonly now: () => number;

  constructor(private readonly opts: BuildPrinterOptions = {}) {
    this.write = opts.write ?? ((t) => process.stdout.write(t));
    this.now = opts.now ?? (() => performance.now());
  }

  add(m: BuildMessage): void {
    const p = m.progress;
    if (p.type === "warning") {
      if (!this.opts.quiet) this.write(`WARN: ${m.service}: ${p.message}\n`);
      return;
    }
    const n = this.number(m.service, p.id);
    if (this.opts.quiet) return;
    if (p.type === "output") {
      if (this.opts.tty) return;
      const at = ((this.now() - (this.started.get(n) ?? this.now())) / 1000).toFixed(3);
      for (const line of p.text.replace(/\n$/, "").split("\n")) this.write(`#${n} ${at} ${line}\n`);
      return;
    }
    const name = withService(p.name, m.service);
    if (this.opts.tty) {
      if (p.state === "done" || p.state === "cached") this.write(` ${p.state === "cached" ? "✔ CACHED" : "✔"} ${name}${p.durationMs !== undefined && p.state === "done" ? ` ${seconds(p.durationMs)}` : ""}\n`);
      else if (p.state === "error") this.write(` ✘ ${name}\n`);
      return;
    }
    switch (p.state) {
      case "started":
        this.started.set(n, this.now());
        this.write(`#${n} ${name}\n`);
        break;
      case "cached":
        this.write(`#${n} CACHED\n`);
        break;
      case "done":
        this.write(`#${n} DONE ${seconds(p.durationMs ?? 0)}\n`);
        break;
      case "error":
        this.write(`#${n} ERROR: ${p.error ?? "failed"}\n`);
        break;
    }
  }

  private number(service: string, id: number): number {
    const key = `${service}\0${id}`;
    let n = this.numbers.get(key);
    if (n === undefined) {
      n = this.next++;
      this.numbers.set(key, n);
    }
    return n;
  }
}

/** `[1/4] RUN make` of service web -> `[web 1/4] RUN make`, as compose names a service's vertices. */
export function withService(name: string, service: string): string {
  if (service === "") return name;
  return name.startsWith("[") ? `[${service} ${name.slice(1)}` : `[${service}] ${name}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
