// Option values parsed strictly when commander reads them, so a bad one is a
// usage error (`option '-t, --timeout <seconds>' argument 'abc' is invalid`,
// exit 1 like every other usage error here) before any request is sent and
// anything is stopped. The parsers are src/stack/numbers.ts's, which the
// daemon's API uses for its query values too.
import { InvalidArgumentError } from "commander";
import { parseInteger, parseSeconds, parseTail, parseTimestamp } from "../stack/numbers.js";

function strict<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError(`${(err as Error).message}.`);
    }
  };
}

/** -t/--timeout, --wait-timeout: whole seconds, as compose's int flags. */
export const secondsFlag = strict(parseSeconds);
/** -n/--tail: "all" or a number of lines. */
export const tailFlag = strict(parseTail);
/** --since: a timestamp or a duration before now, in ms since the epoch. */
export const timestampFlag = strict((text) => parseTimestamp(text));
/** --index: a replica number, from 1. */
export const indexFlag = strict((text) => parseInteger(text, { min: 1 }));
/** A bool flag that defaults to true (`--sig-proxy=false`): Go's strconv.ParseBool words, as docker's flags take them. */
export const booleanFlag = strict((text) => {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(text)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(text)) return false;
  throw new Error(`"${text}" is not true or false`);
});
