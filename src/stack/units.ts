// Sizes and other small scalar forms of the compose file.
//
// Sizes follow Docker's RAMInBytes (go-units): an integer or decimal number
// with an optional unit b, k, m, g, t, p (binary multiples, case-insensitive),
// optionally followed by "b" ("512m", "1.5g", "100kb", "1024").
import { isValidName } from "../../engine/names.js";

const UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

export function parseSize(value: string | number): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid size: ${value}`);
    return Math.floor(value);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgtp])?b?\s*$/i.exec(value);
  if (!m) throw new Error(`invalid size: '${value}'`);
  const unit = (m[2] ?? "b").toLowerCase();
  return Math.floor(Number(m[1]) * (UNITS[unit] ?? 1));
}

/**
 * Splits a command string into words as compose does (shellwords: quotes and
 * backslashes, no expansion). `command: echo "a b"` -> ["echo", "a b"].
 */
export function shellSplit(input: string): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else current += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < input.length && '"\\$`'.includes(input[i + 1] as string)) current += input[++i];
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < input.length) {
      current += input[++i];
      inWord = true;
    } else if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in "${input}"`);
  if (inWord) words.push(current);
  return words;
}

/**
 * Project names as compose v2 normalizes them: lowercase, only [a-z0-9_-],
 * starting with a letter or digit.
 */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "")
    .replace(/^[^a-z0-9]+/, "");
}

export function isValidProjectName(name: string): boolean {
  return isValidName("project", name);
}

/** Milliseconds as Go's time.Duration prints them (how compose v2 renders durations): 1m30s, 500ms, 0s. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return Number.isInteger(ms) ? `${ms}ms` : `${Math.round(ms * 1000)}µs`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = Math.round(rest * 1000) / 1000;
  return `${h > 0 ? `${h}h` : ""}${h > 0 || m > 0 ? `${m}m` : ""}${s}s`;
}
