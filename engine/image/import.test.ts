import { describe, expect, test } from "vitest";
import { applyChanges } from "./import.js";

describe("docker import --change", () => {
  test("applies the instructions docker import allows", () => {
    const c: Record<string, unknown> = {};
    applyChanges(c, ['CMD ["sh", "-c", "echo hi"]', "ENTRYPOINT /init", "ENV A=1 B=\"two words\"", "ENV A 3", "EXPOSE 80 53/udp", "LABEL x=y", "USER app", "WORKDIR /srv", "VOLUME /data", "STOPSIGNAL SIGINT"]);
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
    expect(() => applyChanges({}, ["RUN rm -rf /"])).toThrow(/not supported by import/);
  });
});
