// Output helpers of the image commands, matching the docker CLI: tables laid
// out like Go's tabwriter as docker configures it (cells at least 10 wide,
// 3 spaces of padding), "2 years ago" durations (go-units HumanDuration),
// decimal sizes with 3 significant digits, and --format templates of the
// {{.Field}} / {{json .Field}} kind.

export function dockerTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(10, h.length + 3, ...rows.map((r) => (r[i] ?? "").length + 3)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

function lookup(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split(".").filter(Boolean)) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return "<no value>";
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return `[${v.map(show).join(" ")}]`;
  if (typeof v === "object") return `map[${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}:${show(x)}`).join(" ")}]`;
  return typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" ? String(v) : JSON.stringify(v);
}

/** Applies a docker --format template ("{{.Repository}}:{{.Tag}}", "{{json .Config}}") to one value. */
export function applyTemplate(template: string, value: unknown): string {
  const unescaped = template.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  return unescaped.replace(/\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}/g, (_, json: string | undefined, path: string) => {
    const v = lookup(value, path);
    return json ? JSON.stringify(v ?? null) : show(v);
  });
}
