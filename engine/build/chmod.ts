// COPY/ADD --chmod: an octal mode, or a symbolic one (`u+x,go-w`, `a=rX`) as
// BuildKit applies it (chmod(1) semantics on each copied file's own mode; X is
// execute for directories and for files that already have an execute bit).
import { EngineError } from "../errors.js";

/** Maps a copied entry's mode (permission bits) to the one it gets. */
export type ModeFn = (mode: number, isDir: boolean) => number;

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 };

export function parseChmod(spec: string): ModeFn {
  if (/^[0-7]{1,4}$/.test(spec)) {
    const fixed = parseInt(spec, 8);
    return () => fixed;
  }
  const clauses = spec.split(",").map((c) => {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(c);
    if (!m) throw new EngineError("invalid", `invalid chmod parameter: ${spec}`);
    return { who: m[1] || "a", op: m[2] as "+" | "-" | "=", perms: m[3] ?? "" };
  });
  return (mode, isDir) => {
    let out = mode & 0o7777;
    for (const { who, op, perms } of clauses) {
      let mask = 0;
      for (const w of who) mask |= WHO[w] ?? 0;
      let bits = 0;
      for (const p of perms) {
        if (p === "r") bits |= 0o444;
        else if (p === "w") bits |= 0o222;
        else if (p === "x" || (p === "X" && (isDir || (mode & 0o111) !== 0))) bits |= 0o111;
        else if (p === "s") bits |= 0o6000;
        else if (p === "t") bits |= 0o1000;
      }
      bits &= mask;
      if (op === "+") out |= bits;
      else if (op === "-") out &= ~bits;
      else out = (out & ~mask) | bits;
    }
    return out;
  };
}
