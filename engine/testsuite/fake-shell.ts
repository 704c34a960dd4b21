// The FakeEngine's processes: a tiny interpreter for the few busybox commands
// the conformance suite and the reconciler's tests give containers, so that
// the same ContainerSpec means the same thing to the fake as to a real engine
// (an exit code, lines on stdout and stderr, a trap for SIGTERM, a sleep).
//
// Understood: `sh -c SCRIPT` with `;`-separated statements, and as commands
// or statements: echo [...] [>&2], exit N, true, false, sleep N, sleep N &
// wait, trap 'exit N' SIG..., cat FILE. Anything else ends like a missing
// command in sh: "not found" on stderr, exit 127.
//
// Signals follow PID 1's rules in a container: without a trap, SIGTERM and
// SIGINT are ignored; SIGKILL always ends it with 137. A trap fires at once
// while the script waits (`sleep N & wait`), and only after a foreground
// `sleep` has finished, as in sh.

export interface ShellIO {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Reads a file of the container's filesystem (undefined: not there). */
  readFile(path: string): Buffer | undefined;
  /** The next line of the process's stdin, undefined at its end (no stdin: at once). */
  readLine?(): Promise<string | undefined>;
}

export interface ShellProcess {
  /** Resolves with the exit code. */
  readonly done: Promise<number>;
  /** Delivers a signal (SIGTERM, SIGKILL ...): acted on as described above. */
  signal(sig: string): void;
}

const KILLED = 128 + 9;

/** Splits a statement into words: '...' and "..." quote, backslashes are not special. */
export function words(statement: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let m = re.exec(statement); m; m = re.exec(statement)) out.push(m[1] ?? m[2] ?? m[3] ?? "");
  return out;
}

/** Splits a script on `;` outside quotes. */
function statements(script: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | undefined;
  for (const ch of script) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === ";") {
      out.push(cur);
      cur = "";
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

/** Thrown to unwind the script at `exit N`, a trap or SIGKILL. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function runShell(argv: string[], io: ShellIO): ShellProcess {
  const traps = new Map<string, number>();
  let pending: string | undefined;
  let killed = false;
  // The sleep under way: ended early by SIGKILL, or by a trapped signal when the shell waits.
  let napping: { interruptible: boolean; end: () => void } | undefined;
  // Settles when SIGKILL arrives: a read of stdin waits for a line or this.
  let onKill: () => void = () => undefined;
  const killedWhileReading = new Promise<undefined>((resolve) => (onKill = () => resolve(undefined)));

  const nap = (ms: number, interruptible: boolean): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(end, ms);
      function end(): void {
        clearTimeout(timer);
        napping = undefined;
        resolve();
      }
      napping = { interruptible, end };
    });

  const takeTrap = (): void => {
    if (killed) throw new Exit(KILLED);
    if (pending === undefined) return;
    const code = traps.get(pending);
    pending = undefined;
    if (code !== undefined) throw new Exit(code);
  };

  const command = async (w: string[]): Promise<number> => {
    const [name, ...args] = w;
    switch (name) {
      case undefined:
      case "true":
        return 0;
      case "false":
        return 1;
      case "exit":
        throw new Exit(Number(args[0] ?? "0"));
      case "echo": {
        const toErr = args.at(-1) === ">&2";
        const text = (toErr ? args.slice(0, -1) : args).join(" ");
        if (toErr) io.stderr(text);
        else io.stdout(text);
        return 0;
      }
      case "trap": {
        const [action, ...sigs] = args;
        const m = /^exit (\d+)$/.exec(action ?? "");
        for (const s of sigs) {
          const sig = s.startsWith("SIG") ? s : `SIG${s}`;
          if (m) traps.set(sig, Number(m[1]));
          else traps.delete(sig);
        }
        return 0;
      }
      case "sleep": {
        // `sleep N & wait`: the shell waits, so a trap can interrupt it.
        const background = args[1] === "&" && args[2] === "wait";
        await nap(Number(args[0] ?? "0") * 1000, background);
        takeTrap();
        return 0;
      }
      case "cat": {
        if (args.length === 0) {
          // cat of its stdin: line by line until its end.
          for (;;) {
            const line = io.readLine ? await Promise.race([io.readLine(), killedWhileReading]) : undefined;
            takeTrap();
            if (line === undefined) return 0;
            io.stdout(line);
          }
        }
        let status = 0;
        for (const path of args) {
          const data = io.readFile(path);
          if (data === undefined) {
            io.stderr(`cat: can't open '${path}': No such file or directory`);
            status = 1;
          } else for (const line of data.toString("utf8").replace(/\n$/, "").split("\n")) io.stdout(line);
        }
        return status;
      }
      default:
        io.stderr(`sh: ${name}: not found`);
        return 127;
    }
  };

  const main = async (): Promise<number> => {
    try {
      if (argv[0] === "sh" && argv[1] === "-c") {
        let status = 0;
        for (const st of statements(argv[2] ?? "")) {
          status = await command(words(st));
          takeTrap();
        }
        return status;
      }
      return await command(argv);
    } catch (e) {
      if (e instanceof Exit) return e.code;
      throw e;
    }
  };

  return {
    done: main(),
    signal(sig) {
      if (sig === "SIGKILL") {
        killed = true;
        onKill();
        return napping?.end();
      }
      if (!traps.has(sig)) return; // PID 1 ignores what it does not handle.
      pending = sig;
      if (napping?.interruptible) napping.end();
    },
  };
}
