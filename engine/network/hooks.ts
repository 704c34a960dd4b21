// Crash points for tests: with TSCOMPOSE_NETWORK_PAUSE_AT=<point> in the
// environment, the process announces "paused at <point>" on stderr when it
// reaches that point and then waits forever, so a test can kill -9 it at a
// precise step (e.g. after the bridge exists, before the network is recorded)
// and check that repair() cleans up. Without the variable this is a no-op.
export type PausePoint = "network:bridge-created" | "network:rules-added" | "sandbox:endpoints-created";

export const PAUSE_ENV = "TSCOMPOSE_NETWORK_PAUSE_AT";

export async function pausePoint(point: PausePoint): Promise<void> {
  if (process.env[PAUSE_ENV] !== point) return;
  process.stderr.write(`paused at ${point}\n`);
  await new Promise<never>(() => {
    setInterval(() => undefined, 60_000); // keeps the event loop alive until the test kills us
  });
}
