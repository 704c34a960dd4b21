// The custom "format" checkers that schema/compose-spec.json uses. They live in
// their own module because the ahead-of-time validator (generated/compose-schema.ts,
// written by scripts/build-schema.mjs) imports them by name at run time: ajv's
// standalone code can only refer to functions, not embed them. Keeping this
// module small also keeps ajv itself out of the CLI's start-up path.
import type { FormatDefinition } from "ajv/dist/2019.js";
import { isDuration } from "./duration.js";
import { parsePortRange, parsePortShort } from "./ports.js";

const accepts = (parse: (s: string) => unknown) => (s: string) => {
  try {
    parse(s);
    return true;
  } catch {
    return false;
  }
};

// The keys must match the FORMATS list of scripts/build-schema.mjs (ajv's strict
// mode rejects a format the schema uses but the generator does not know), and
// each entry must stay an object with `validate`: the generated code calls
// `schemaFormats[name].validate(value)`. validate-generated.test.ts checks both.
export const schemaFormats: Readonly<Record<string, FormatDefinition<string>>> = {
  duration: { type: "string", validate: isDuration },
  ports: { type: "string", validate: accepts(parsePortShort) },
  "port-range": { type: "string", validate: accepts(parsePortRange) },
};
