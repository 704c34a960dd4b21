import { describe, expect, it } from "vitest";
import type { BuildMessage } from "../daemon/api.js";
import { BuildPrinter, withService } from "./build-progress.js";

describe("build progress as docker compose prints it", () => {
  const messages: BuildMessage[] = [
    { type: "build", service: "web", progress: { type: "step", id: 1, name: "[1/2] FROM busybox", state: "started" } },
    { type: "build", service: "db", progress: { type: "step", id: 1, name: "[1/1] FROM postgres", state: "started" } },
    { type: "build", service: "web", progress: { type: "step", id: 1, name: "[1/2] FROM busybox", state: "cached", durationMs: 0 } },
    { type: "build", service: "web", progress: { type: "step", id: 2, name: "[build 2/2] RUN make", state: "started" } },
    { type: "build", service: "web", progress: { type: "output", id: 2, stream: "stdout", text: "cc a.c\ncc b.c\n" } },
    { type: "build", service: "web", progress: { type: "step", id: 2, name: "[build 2/2] RUN make", state: "done", durationMs: 1250 } },
    { type: "build", service: "db", progress: { type: "step", id: 1, name: "[1/1] FROM postgres", state: "error", error: "not found" } },
  ];

  it("plain: numbered across services, the service in the vertex name, output with its time, CACHED, DONE, ERROR", () => {
    const out: string[] = [];
    let t = 0;
    const p = new BuildPrinter({ tty: false, write: (s) => out.push(s), now: () => (t += 100) });
    for (const m of messages) p.add(m);
    expect(out.join("")).toBe(
      ["#1 [web 1/2] FROM busybox", "#2 [db 1/1] FROM postgres", "#1 CACHED", "#3 [web build 2/2] RUN make", "#3 0.100 cc a.c", "#3 0.100 cc b.c", "#3 DONE 1.3s", "#2 ERROR: not found", ""].join("\n"),
    );
  });

  it("quiet prints nothing; a terminal gets a line per finished step", () => {
    const quiet: string[] = [];
    const q = new BuildPrinter({ quiet: true, write: (s) => quiet.push(s) });
    for (const m of messages) q.add(m);
    expect(quiet).toEqual([]);
    const tty: string[] = [];
    const p = new BuildPrinter({ tty: true, write: (s) => tty.push(s) });
    for (const m of messages) p.add(m);
    expect(tty).toEqual([" ✔ CACHED [web 1/2] FROM busybox\n", " ✔ [web build 2/2] RUN make 1.3s\n", " ✘ [db 1/1] FROM postgres\n"]);
    expect(withService("[internal] load build context", "")).toBe("[internal] load build context");
  });
});
