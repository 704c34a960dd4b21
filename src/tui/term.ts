// A thin typed adapter over neo-blessed (blessed's maintained fork, same
// API): the few things the TUI uses — a screen, plain boxes with tagged
// content, keys, mouse clicks and wheel, resize, and handing the terminal to
// a child process — behind types of our own. blessed's typings are loose, and
// the library is loaded only here (with createRequire: it is CommonJS), so
// nothing else in the TUI knows it exists and `tscompose --help` never loads it.
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";

// ---- The part of neo-blessed we call, as it really is. -------------------

interface BKey {
  full: string;
  name: string | undefined;
  ctrl: boolean;
  meta: boolean;
  shift: boolean;
  sequence: string;
}

interface BMouse {
  x: number;
  y: number;
  action: string;
}

interface BElement {
  setContent(content: string): void;
  show(): void;
  hide(): void;
  on(event: "click" | "wheelup" | "wheeldown", fn: (data: BMouse) => void): void;
  top: number;
  left: number;
  width: number;
  height: number;
  atop: number;
  aleft: number;
  hidden: boolean;
}

interface BProgram {
  cols: number;
  rows: number;
}

interface BScreen {
  program: BProgram;
  tput: { unicode: boolean; brokenACS: boolean };
  width: number;
  height: number;
  render(): void;
  destroy(): void;
  on(event: "keypress", fn: (ch: string | undefined, key: BKey) => void): void;
  on(event: "resize", fn: () => void): void;
  spawn(file: string, args: string[], options: { stdio: "inherit"; env?: NodeJS.ProcessEnv }): ChildProcess;
}

interface BElementOptions {
  parent: BScreen;
  top: number;
  left: number;
  width: number;
  height: number;
  tags: boolean;
  wrap: boolean;
  style?: Record<string, unknown>;
}

interface Blessed {
  program(options: { input: NodeJS.ReadStream; output: NodeJS.WriteStream; tput: boolean; terminal?: string | undefined }): BProgram;
  screen(options: {
    program: BProgram;
    smartCSR: boolean;
    fullUnicode: boolean;
    autoPadding: boolean;
    warnings: boolean;
    title: string;
    dockBorders: boolean;
    resizeTimeout: number;
  }): BScreen;
  box(options: BElementOptions): BElement;
}

// ---- Ours. ----------------------------------------------------------------

export interface Key {
  /** blessed's full name: "a", "S-a" is "A", "C-c", "up", "enter", "escape", "pageup" ... */
  full: string;
  /** The character typed, for text input; undefined for special keys. */
  ch: string | undefined;
}

export interface Pane {
  setContent(tagged: string): void;
  place(top: number, left: number, width: number, height: number): void;
  setVisible(visible: boolean): void;
  /** y and x relative to the pane's top left. */
  onClick(fn: (y: number, x: number) => void): void;
  onWheel(fn: (delta: number) => void): void;
}

export interface Term {
  readonly width: number;
  readonly height: number;
  pane(style?: { inverse?: boolean }): Pane;
  onKey(fn: (key: Key) => void): void;
  onResize(fn: () => void): void;
  render(): void;
  /** Leaves the alternate screen, runs a command on the real terminal, comes back: its exit code. */
  handOver(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number | null>;
  destroy(): void;
}

export interface TermOptions {
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

export function openTerm(opts: TermOptions = {}): Term {
  const blessed = createRequire(import.meta.url)("neo-blessed") as Blessed;
  // blessed compiles every terminfo string and prints those it cannot (some
  // ncurses versions' xterm-256color Setulc) with console.error, over the
  // screen. It goes on without them and the TUI uses none: keep them quiet.
  const consoleError = console.error;
  const terminfoErrors: unknown[] = [];
  console.error = (...args: unknown[]) => void terminfoErrors.push(args);
  let program: BProgram;
  let screen: BScreen;
  try {
    program = blessed.program({ input: opts.input ?? process.stdin, output: opts.output ?? process.stdout, tput: false, terminal: process.env.TERM });
    screen = makeScreen(blessed, program);
  } finally {
    console.error = consoleError;
  }
  // A UTF-8 terminal draws box characters itself; blessed's ACS fallback (for
  // terminfo entries without U8) shows as letters in some (tmux capture, screen).
  if (screen.tput.unicode) screen.tput.brokenACS = true;
  const term: Term = {
    get width() {
      return screen.width;
    },
    get height() {
      return screen.height;
    },
    pane(style = {}) {
      const el = blessed.box({ parent: screen, top: 0, left: 0, width: 1, height: 1, tags: true, wrap: false, style: style.inverse ? { inverse: true } : {} });
      return {
        setContent: (s) => el.setContent(s),
        place(top, left, width, height) {
          el.top = top;
          el.left = left;
          el.width = Math.max(1, width);
          el.height = Math.max(1, height);
        },
        setVisible(v) {
          if (v && el.hidden) el.show();
          if (!v && !el.hidden) el.hide();
        },
        onClick: (fn) => el.on("click", (m) => fn(m.y - el.atop, m.x - el.aleft)),
        onWheel(fn) {
          el.on("wheelup", () => fn(-3));
          el.on("wheeldown", () => fn(3));
        },
      };
    },
    onKey: (fn) =>
      screen.on("keypress", (ch, key) => {
        // blessed sends the Enter key (CR) twice: as "enter", then as "return"; the second would answer the question the first one asked (a prompt's submit then its confirmation).
        if (key.name === "return" && key.sequence === "\r") return;
        fn({ full: key.full, ch: ch !== undefined && ch.length === 1 && ch >= " " ? ch : undefined });
      }),
    onResize: (fn) => screen.on("resize", fn),
    render: () => screen.render(),
    handOver: (file, args, env) =>
      new Promise((resolve) => {
        const child = screen.spawn(file, args, { stdio: "inherit", env });
        child.once("error", () => resolve(null));
        child.once("exit", (code) => resolve(code));
      }),
    destroy: () => screen.destroy(),
  };
  return term;
}

function makeScreen(blessed: Blessed, program: BProgram): BScreen {
  return blessed.screen({
    program,
    smartCSR: true,
    fullUnicode: true,
    autoPadding: false,
    warnings: false,
    title: "tscompose",
    dockBorders: false,
    resizeTimeout: 50,
  });
}
