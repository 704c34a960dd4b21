// How much of what a registry (or an image archive) sends is read at all.
// Everything a registry says is hostile until verified, and some of it cannot
// be verified before it is read: an error body, a token, a manifest fetched by
// tag, a config blob the whole of which is parsed in memory. Each gets a bound
// so a hostile or broken server cannot make the engine buffer without end.
// Layer blobs stream to disk and are bounded by their descriptor's size
// (fetch-blob.ts) and, unpacked, by the snapshotter's layer limits.

/** containerd and the distribution registry refuse larger manifests; a larger body is not a manifest. */
export const MAX_MANIFEST_SIZE = 4 << 20;
/** Image configs are a few KiB (tens with a long history); the whole of one is parsed in memory. */
export const MAX_CONFIG_SIZE = 8 << 20;
/** Tokens are JWTs of a few KiB. */
export const MAX_TOKEN_BODY = 1 << 20;
/** An error body is read for its message only; what is past this is not read. */
export const MAX_ERROR_BODY = 64 << 10;

const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"];

/** "4 MiB", "64 KiB", "1.5 GiB": sizes of limits, in the binary units they are chosen in. */
export function formatLimit(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${parseFloat(size.toFixed(2))} ${UNITS[unit]}`;
}
