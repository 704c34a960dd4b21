// The key sequence that detaches `attach` (docker's --detach-keys): a comma-
// separated list of single characters and `ctrl-X` keys, ctrl-p,ctrl-q by
// default. The CLI scans its stdin for it, as docker's CLI does: bytes that
// start the sequence are held back until it is complete (detach) or broken
// (they go to the container after all).
import { CliError } from "./errors.js";

export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

/** ctrl-@ is 0, ctrl-a..ctrl-z 1..26, then ctrl-[ ctrl-\ ctrl-] ctrl-^ ctrl-_ (27..31), as docker's table. */
const CONTROL = "@abcdefghijklmnopqrstuvwxyz[\\]^_";

/** The bytes of a --detach-keys value; a bad one is docker's error. */
export function parseDetachKeys(keys: string): Buffer {
  const bytes: number[] = [];
  for (const key of keys.split(",")) {
    if (key.length === 1) bytes.push(key.charCodeAt(0));
    else if (key.startsWith("ctrl-") && key.length === 6 && CONTROL.includes(key[5] as string)) bytes.push(CONTROL.indexOf(key[5] as string));
    else throw new CliError(`Invalid detach keys (${keys}) provided`);
  }
  return Buffer.from(bytes);
}

/** Scans input for the sequence across chunks. */
export class DetachKeyScanner {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** What to send on, and whether the sequence is complete (then nothing after it is sent). */
  push(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      // A broken sequence: what was held back goes on, and this byte may start a new one.
      out.push(...this.keys.subarray(0, this.matched));
      this.matched = 0;
      if (byte === this.keys[0]) this.matched = 1;
      else out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
