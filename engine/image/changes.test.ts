import { describe, expect, test } from "vitest";
import { applyChanges } from "./changes.js";

describe("docker commit/import --change", () => {
  test("applies the instructions docker import allows", () => {
    const c: Record<string, unknown> = {};
    applyChanges(c, ['CMD ["sh", "-c", "echo hi"]', "ENTRYPOINT /init", "ENV A=1 B=\"two words\"", "ENV A 3", "EXPOSE 80 53/udp", "LABEL x=y", "USER app", "WORKDIR /srv", "VOLUME /data", "STOPSIGNAL SIGINT"], "import");
    expect(c).toEqual({
      Cmd: ["sh", "-c", "echo hi"],
      Entrypoint: ["/bin/sh", "-c", "/init"],
      Env: ["A=3", "B=two words"],
      ExposedPorts: { "80/tcp": {}, "53/udp": {} },
      Labels: { x: "y" },
      User: "app",
      WorkingDir: "/srv",
      Volumes: { "/data": {} },
      StopSignal: "SIGINT",
    });
  });

  test("refuses what docker import refuses", () => {
    expect(() => applyChanges({}, ["RUN rm -rf /"], "import")).toThrow(/RUN is not supported by import/);
    expect(() => applyChanges({}, ["FROM x"], "commit")).toThrow(/FROM is not supported by commit; use one of CMD, .*ONBUILD/);
    expect(() => applyChanges({}, ["CMD"], "commit")).toThrow(/invalid change "CMD"/);
  });

  test("ONBUILD triggers accumulate, in order; ONBUILD ONBUILD is refused as in a Dockerfile", () => {
    const c: Record<string, unknown> = { OnBuild: ["RUN a"] };
    applyChanges(c, ["ONBUILD RUN b", "onbuild COPY . /app"], "commit");
    expect(c.OnBuild).toEqual(["RUN a", "RUN b", "COPY . /app"]);
    expect(() => applyChanges(c, ["ONBUILD ONBUILD RUN x"], "commit")).toThrow(/ONBUILD is not allowed as an ONBUILD trigger/);
  });

  test("changes apply over what the config had", () => {
    const c: Record<string, unknown> = { Env: ["PATH=/bin", "A=1"], Labels: { keep: "1" }, Cmd: ["sh"] };
    applyChanges(c, ["ENV A=2", "LABEL add=2"], "commit");
    expect(c).toEqual({ Env: ["PATH=/bin", "A=2"], Labels: { keep: "1", add: "2" }, Cmd: ["sh"] });
  });
});
