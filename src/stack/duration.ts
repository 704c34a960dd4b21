// Go durations are shared by the loader and the engine (the Dockerfile's
// HEALTHCHECK options), so the parser lives in model/duration.ts.
export { isDuration, parseDuration } from "../../model/duration.js";
