// The engine a request asks for: the client's --engine, -H and TLS flags in
// one header (api.ts ENGINE_HEADER), checked like a request body.
import type { IncomingMessage } from "node:http";
import { ENGINE_HEADER } from "./api.js";
import type { EngineChoice } from "./api.js";
import { checkRequest } from "./api-schema.js";
import { HttpError } from "./http.js";

/** The engine the client asked for (ENGINE_HEADER), undefined when it said nothing; a malformed one is a 400. */
export function engineChoiceOf(req: IncomingMessage): EngineChoice | undefined {
  const raw = req.headers[ENGINE_HEADER];
  if (raw === undefined || Array.isArray(raw)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new HttpError(400, `${ENGINE_HEADER}: not JSON`);
  }
  return checkRequest("EngineChoice", parsed);
}

