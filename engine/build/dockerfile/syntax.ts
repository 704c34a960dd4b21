// The one place that knows dockerfile-ast: it finds the instructions, their
// flags, the escape character and the parser directives; heredoc bodies are
// cut here from the source lines. What leaves this module is our own plain
// data, so the planner never sees the library's classes.
import { DockerfileParser, ModifiableInstruction, type Instruction } from "dockerfile-ast";
import { ExpansionError } from "./errors.js";
import { expandWord } from "./shell-lex.js";

export interface RawFlag {
  name: string;
  /** undefined for a bare `--link`. */
  value: string | undefined;
}

export interface RawHeredoc {
  /** The delimiter without quotes. */
  name: string;
  /** The body, each line ending in a newline, tabs stripped for `<<-`. */
  content: string;
  /** False when the delimiter was quoted: the body is taken as written. */
  expand: boolean;
  chomp: boolean;
}

export interface RawInstruction {
  /** 1-based line of the keyword. */
  line: number;
  keyword: string;
  flags: RawFlag[];
  /** The arguments after the flags, continuation lines joined; for heredocs the first line only. */
  args: string;
  heredocs: RawHeredoc[];
  /** The instruction as written (all its lines), for ONBUILD and image history. */
  source: string;
}

export interface ParsedDockerfile {
  escape: string;
  /** Parser directives other than escape, lower-case names (`syntax`, `check`). */
  directives: Record<string, string>;
  instructions: RawInstruction[];
}

/** The instructions that may carry heredocs (BuildKit's list). */
const HEREDOC_INSTRUCTIONS = new Set(["RUN", "COPY", "ADD"]);

const HEREDOC_WORD = /^\d*<<(-?)(.+)$/s;

export function parseDockerfile(text: string): ParsedDockerfile {
  const dockerfile = DockerfileParser.parse(text);
  const escape = dockerfile.getEscapeCharacter() || "\\";
  const directives: Record<string, string> = {};
  for (const directive of dockerfile.getDirectives()) {
    const name = directive.getName().toLowerCase();
    if (name !== "escape") directives[name] = directive.getValue();
  }
  const lines = text.split(/\r?\n/);
  const instructions = dockerfile.getInstructions().map((ins) => toRaw(ins, lines, escape));
  return { escape, directives, instructions };
}

function toRaw(ins: Instruction, lines: string[], escape: string): RawInstruction {
  const range = ins.getRange();
  const keyword = ins.getKeyword().toUpperCase();
  const flags = ins instanceof ModifiableInstruction ? ins.getFlags() : [];
  let args = ins.getArgumentsContent() ?? "";
  const source = lines.slice(range.start.line, range.end.line + 1).join("\n").trim();
  let heredocs: RawHeredoc[] = [];
  if (HEREDOC_INSTRUCTIONS.has(keyword)) {
    const firstLine = args.split("\n", 1)[0] as string;
    const markers = heredocMarkers(firstLine, escape);
    if (markers.length > 0) {
      args = firstLine;
      heredocs = readBodies(markers, lines, firstLogicalLineEnd(lines, range.start.line, escape) + 1, range.start.line + 1);
    }
  }
  return {
    line: range.start.line + 1,
    keyword,
    flags: flags.map((f) => ({ name: f.getName(), value: f.getValue() ?? undefined })),
    args: args.trim(),
    heredocs,
    source,
  };
}

interface HeredocMarker {
  name: string;
  expand: boolean;
  chomp: boolean;
}

/** The `<<EOF` words of a line, in order, split as the shell would (quotes keep words whole). */
function heredocMarkers(line: string, escape: string): HeredocMarker[] {
  const markers: HeredocMarker[] = [];
  for (const word of shellWords(line, escape)) {
    const m = HEREDOC_WORD.exec(word);
    if (!m) continue;
    const raw = m[2] as string;
    let name: string;
    try {
      name = expandWord(raw, { escape }, () => undefined);
    } catch (err) {
      if (err instanceof ExpansionError) continue;
      throw err;
    }
    if (name === "") continue;
    markers.push({ name, expand: !/['"]/.test(raw), chomp: m[1] === "-" });
  }
  return markers;
}

/** Splits on blanks outside quotes, keeping the quotes in the words. */
export function shellWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | undefined;
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (quote === undefined && /\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    word += ch;
    if (ch === escape && quote !== "'" && i + 1 < chars.length) word += chars[++i] as string;
    else if (quote === undefined && (ch === "'" || ch === '"')) quote = ch;
    else if (ch === quote) quote = undefined;
  }
  if (inWord) words.push(word);
  return words;
}

/** The index of the last line of the logical line that starts at `start` (escaped newlines continue it). */
function firstLogicalLineEnd(lines: string[], start: number, escape: string): number {
  let i = start;
  while (i < lines.length - 1 && (lines[i] as string).trimEnd().endsWith(escape)) i++;
  return i;
}

function readBodies(markers: HeredocMarker[], lines: string[], from: number, line: number): RawHeredoc[] {
  const out: RawHeredoc[] = [];
  let i = from;
  for (const marker of markers) {
    const body: string[] = [];
    for (;;) {
      if (i >= lines.length) throw new HeredocError(line, `unterminated heredoc: no line "${marker.name}" ends it`);
      let text = lines[i++] as string;
      if (marker.chomp) text = text.replace(/^\t+/, "");
      if (text === marker.name) break;
      body.push(text);
    }
    out.push({ ...marker, content: body.map((l) => `${l}\n`).join("") });
  }
  return out;
}

export class HeredocError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}
