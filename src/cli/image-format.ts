// Output helpers of the image commands, matching the docker CLI: decimal sizes with 3 significant digits, and --format templates of the
// {{.Field}} / {{json .Field}} kind.

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

/**
 * The template of a --format value: "{{.Name}}", or "table {{.Name}}" (printed
 * without docker's header row); undefined for "table", "json" or none.
 */
export function formatTemplate(format: string | undefined): string | undefined {
  if (format === undefined || format === "table" || format === "json") return undefined;
  return format.replace(/^table\s+/, "");
}

/** Applies a docker --format template ("{{.Repository}}:{{.Tag}}", "{{json .Config}}") to one value. */
export function applyTemplate(template: string, value: unknown): string {
  const unescaped = template.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  return unescaped.replace(/\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}/g, (_, json: string | undefined, path: string) => {
    const v = lookup(value, path);
    return json ? JSON.stringify(v ?? null) : show(v);
  });
}
