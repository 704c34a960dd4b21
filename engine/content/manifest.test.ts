import { expect, test } from "vitest";
import { MediaTypes, parseManifest } from "./manifest.js";

const digest = `sha256:${"a".repeat(64)}`;
const manifest = { schemaVersion: 2, config: { mediaType: MediaTypes.ociConfig, digest, size: 2 }, layers: [] };

test("the media type comes from Content-Type, the body, or the shape", () => {
  const bytes = Buffer.from(JSON.stringify(manifest));
  expect(parseManifest(bytes, `${MediaTypes.ociManifest}; charset=utf-8`, "x")).toMatchObject({ kind: "manifest", manifest: { mediaType: MediaTypes.ociManifest } });
  expect(parseManifest(bytes, "application/json", "x")).toMatchObject({ kind: "manifest", manifest: { mediaType: MediaTypes.ociManifest } });
  const list = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifestList, manifests: [] }));
  expect(parseManifest(list, undefined, "x")).toMatchObject({ kind: "index", index: { mediaType: MediaTypes.dockerManifestList } });
});

test("what is wrong is named", () => {
  const bad = (body: unknown, ct?: string): string => {
    try {
      parseManifest(Buffer.from(typeof body === "string" ? body : JSON.stringify(body)), ct, "img");
    } catch (err) {
      return (err as Error).message;
    }
    return "parsed";
  };
  expect(bad([])).toBe("malformed manifest for img: not a JSON object");
  expect(bad({ ...manifest, schemaVersion: 3 })).toBe("malformed manifest for img: schemaVersion is 3, expected 2");
  expect(bad({ ...manifest, layers: undefined })).toBe(`malformed manifest for img: an image manifest (${MediaTypes.ociManifest}) needs a "layers" array`);
  expect(bad({ ...manifest, config: { ...manifest.config, size: -1 } })).toBe("malformed manifest for img: config.size -1 is not a non-negative integer");
  expect(bad({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ mediaType: "m", digest, size: 1, platform: { os: "linux" } }] })).toBe(
    'malformed manifest for img: manifests[0].platform needs string "os" and "architecture"',
  );
  expect(bad({ schemaVersion: 2 })).toBe("malformed manifest for img: no mediaType, and neither config nor manifests to tell its kind");
  expect(bad({ schemaVersion: 2, mediaType: "application/vnd.example+json" })).toBe('img has media type "application/vnd.example+json", not an image manifest or index');
});
