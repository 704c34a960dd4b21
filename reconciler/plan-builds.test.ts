import { describe, expect, it } from "vitest";
import type { BuildSpec } from "../model/stack.js";
import { buildRequestOf } from "./build-request.js";
import { planBuilds, planUp } from "./plan.js";
import { container, observed, service, stackOf } from "./testing.js";

const build: BuildSpec = { context: "/srv/app/web", dockerfile: undefined, args: {}, target: undefined };
const web = service("web", { image: undefined, build, pullPolicy: "build", networks: {} });
const db = service("db", { image: "postgres", networks: {} });
const api = service("api", { image: "registry.example/api:2", build: { ...build, context: "/srv/app/api" }, networks: {}, dependsOn: { web: { condition: "service_started", required: true, restart: false } } });
const stack = stackOf([web, db, api]);
const built = (opts: Parameters<typeof planBuilds>[2], seen = observed()): string[] => planBuilds(stack, seen, opts).actions.map((a) => (a.kind === "build" ? `${a.service} ${a.image}` : a.kind));

describe("planBuilds: what is built before an up", () => {
  it("a missing image is built, under <project>-<service> unless image: names it; an image-only service never", () => {
    expect(built({})).toEqual(["web app-web", "api registry.example/api:2"]);
    expect(built({}, observed({ images: ["app-web", "registry.example/api:2"] }))).toEqual([]);
  });

  it("a container with another config hash (the build inputs are in it) is rebuilt first; --no-recreate keeps it", () => {
    const seen = observed({ images: ["app-web", "registry.example/api:2"], containers: [container("web", 1, { configHash: "old" }), container("api", 1)] });
    expect(built({}, seen)).toEqual(["web app-web"]);
    expect(built({ noRecreate: true }, seen)).toEqual([]);
  });

  it("--build builds every selected service with build:; build SERVICE alone, or with its dependencies", () => {
    const present = observed({ images: ["app-web", "registry.example/api:2"] });
    expect(built({ always: true }, present)).toEqual(["web app-web", "api registry.example/api:2"]);
    expect(built({ always: true, services: ["api"] }, present)).toEqual(["api registry.example/api:2"]);
    expect(built({ always: true, services: ["api"], withDependencies: true }, present).sort()).toEqual(["api registry.example/api:2", "web app-web"]);
  });

  it("up never pulls a service with build:, and recreates a container made from an older build of its image", () => {
    const seen = observed({
      images: ["app-web", "registry.example/api:2", "postgres"],
      imageIds: { "app-web": "sha256:new", "registry.example/api:2": "sha256:api" },
      containers: [container("web", 1, { imageId: "sha256:old" }), container("api", 1, { imageId: "sha256:api" }), container("db", 1, { imageId: "sha256:pg-old" })],
    });
    const plan = planUp(stack, seen, { startStopped: true });
    expect(plan.actions.filter((a) => a.kind === "create").map((a) => (a as { service: string }).service)).toEqual(["web"]);
    expect(planUp(stack, observed(), {}).actions.filter((a) => a.kind === "pull").map((a) => (a as { image: string }).image)).toEqual(["postgres"]);
  });
});

describe("buildRequestOf", () => {
  it("names the image and its tags normalized, merges the command line's flags, resolves secrets and contexts", () => {
    const svc = service("web", {
      image: undefined,
      build: { ...build, args: { A: "1", B: undefined }, tags: ["example.org/web:1"], secrets: ["token"], additionalContexts: { base: "/srv/base", img: "docker-image://busybox" }, network: "none", noCache: false },
      networks: {},
    });
    const s = stackOf([svc], { secrets: { token: { name: "app_token", file: "/srv/token.txt", environment: undefined, environmentValue: undefined, content: undefined, external: false } } });
    expect(buildRequestOf(s, svc, { noCache: true, buildArgs: { B: "cli" } })).toEqual({
      contextDir: "/srv/app/web",
      buildArgs: { A: "1", B: "cli" },
      tags: ["docker.io/library/app-web:latest", "example.org/web:1"],
      noCache: true,
      network: "none",
      secrets: { token: { file: "/srv/token.txt" } },
      additionalContexts: { base: { dir: "/srv/base" }, img: { image: "busybox" } },
    });
  });
});
