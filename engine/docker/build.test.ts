import { describe, expect, it } from "vitest";
import type { BuildProgress } from "../types.js";
import { buildQuery, LegacyBuildTranslator } from "./build.js";

describe("dockerd's legacy build stream as BuildProgress", () => {
  it("steps start, end cached or done, output lines belong to their step, noise is dropped", () => {
    const seen: BuildProgress[] = [];
    let t = 0;
    const tr = new LegacyBuildTranslator((p) => seen.push(p), "FROM busybox\nCOPY . /\nRUN make\n", "Dockerfile", () => (t += 5));
    for (const stream of ["Step 1/3 : FROM busybox", "\n", " ---> 1234567890ab\n", "Step 2/3 : COPY . /\n", " ---> Using cache\n", " ---> 1234567890ab\n", "Step 3/3 : RUN make\n", " ---> Running in abcdefabcdef\n", "compil", "ing\n", "Removing intermediate container abcdefabcdef\n", "Successfully built 1234567890ab\n"]) tr.feed({ stream });
    tr.feed({ aux: { ID: "sha256:aa" } });
    tr.finish();
    expect(seen.map((e) => (e.type === "step" ? `${e.id} ${e.state}` : e.type === "output" ? `${e.id} > ${e.text}` : e.message))).toEqual([
      "1 started", "1 done", "2 started", "2 cached", "3 started", "3 > compiling\n", "3 done",
    ]);
    expect(tr.imageId).toBe("sha256:aa");
  });

  it("an error names the running step's Dockerfile line; before any step the message alone", () => {
    const tr = new LegacyBuildTranslator(() => undefined, "FROM busybox\n# comment\nRUN \\\n  false\n", "app/Dockerfile");
    tr.feed({ stream: "Step 1/2 : FROM busybox\n" });
    tr.feed({ stream: "Step 2/2 : RUN false\n" });
    expect(() => tr.feed({ errorDetail: { message: "The command '/bin/sh -c false' returned a non-zero code: 1", code: 1 }, error: "x" })).toThrow(
      'app/Dockerfile:3: RUN false: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    );
    expect(() => new LegacyBuildTranslator(() => undefined, "").feed({ error: "dockerfile parse error" })).toThrow(/^dockerfile parse error$/);
  });

  it("the query: value-less build args from the environment (null when unset there), tags repeated, flags as dockerd wants them", () => {
    const q = buildQuery({ contextDir: "/c", tags: ["a:1", "b:2"], buildArgs: { A: "1", B: undefined, C: undefined }, noCache: true, pull: true, shmSize: 1024, extraHosts: ["h:1.2.3.4"], network: "none" }, "Dockerfile", { B: "from-env" });
    expect(q).toMatchObject({ t: ["a:1", "b:2"], buildargs: { A: "1", B: "from-env", C: null }, nocache: "1", pull: "1", shmsize: "1024", extrahosts: ["h:1.2.3.4"], networkmode: "none", dockerfile: "Dockerfile" });
  });
});
