import { describe, expect, it } from "vitest";
import { planBuild } from "./dockerfile/plan.js";
import { applyConfigStep, isConfigOnly, type ConfigState } from "./config-steps.js";

/** The config and history lines the config-only steps of a one-stage Dockerfile make from `base`. */
function apply(dockerfile: string, base: Record<string, unknown> = {}): { config: Record<string, unknown>; history: string[] } {
  // As the executor plans: with the base image's env, which ENV's expansion reads.
  const plan = planBuild(`FROM busybox\n${dockerfile}`, { imageConfig: () => ({ env: (base.Env as string[] | undefined) ?? [] }) });
  const state: ConfigState = { config: structuredClone(base), cmdSet: false };
  const history: string[] = [];
  for (const step of plan.stages[0]?.steps ?? []) {
    if (!isConfigOnly(step)) continue;
    const h = applyConfigStep(state, step);
    if (h !== undefined) history.push(h);
  }
  return { config: state.config, history };
}

describe("config-only steps", () => {
  it("ENV replaces a variable in place and appends a new one; LABEL, EXPOSE and VOLUME add to what the base has", () => {
    const { config, history } = apply('ENV PATH=/opt/bin:$PATH A=1\nLABEL k=v\nEXPOSE 80 53/udp 7000-7002/udp\nVOLUME ["/data"]\n', {
      Env: ["PATH=/bin", "B=2"],
      Labels: { base: "yes" },
      ExposedPorts: { "22/tcp": {} },
    });
    expect(config.Env).toEqual(["PATH=/opt/bin:/bin", "B=2", "A=1"]);
    expect(config.Labels).toEqual({ base: "yes", k: "v" });
    // A range is one key per port, as BuildKit writes it.
    expect(config.ExposedPorts).toEqual({ "22/tcp": {}, "80/tcp": {}, "53/udp": {}, "7000/udp": {}, "7001/udp": {}, "7002/udp": {} });
    expect(config.Volumes).toEqual({ "/data": {} });
    expect(history).toEqual(["ENV PATH=/opt/bin:/bin A=1", "LABEL k=v", "EXPOSE map[80/tcp:{} 53/udp:{} 7000/udp:{} 7001/udp:{} 7002/udp:{}]", "VOLUME [/data]"]);
  });

  it("WORKDIR resolves against the current one; USER, STOPSIGNAL, SHELL and ONBUILD are set as written", () => {
    const { config } = apply("WORKDIR /srv\nWORKDIR app\nUSER 1000:1000\nSTOPSIGNAL SIGINT\nSHELL [\"/bin/ash\", \"-c\"]\nONBUILD RUN echo hi\n");
    expect(config).toMatchObject({ WorkingDir: "/srv/app", User: "1000:1000", StopSignal: "SIGINT", Shell: ["/bin/ash", "-c"], OnBuild: ["RUN echo hi"] });
  });

  it("CMD and ENTRYPOINT: shell form through the stage's SHELL; an ENTRYPOINT drops an inherited CMD but keeps one set in the stage", () => {
    expect(apply("ENTRYPOINT [\"/app\"]\n", { Cmd: ["sh"] }).config).toMatchObject({ Entrypoint: ["/app"], Cmd: null });
    const kept = apply("CMD serve --port 80\nENTRYPOINT [\"/app\"]\n", { Cmd: ["sh"] });
    expect(kept.config).toMatchObject({ Entrypoint: ["/app"], Cmd: ["/bin/sh", "-c", "serve --port 80"] });
    expect(kept.history).toEqual(['CMD ["/bin/sh" "-c" "serve --port 80"]', 'ENTRYPOINT ["/app"]']);
  });

  it("HEALTHCHECK keeps docker's nanoseconds; ARG leaves no history entry", () => {
    const { config, history } = apply("ARG X=1\nHEALTHCHECK --interval=5s --retries=2 CMD [\"true\"]\n");
    expect(config.Healthcheck).toEqual({ Test: ["CMD", "true"], Interval: 5e9, Retries: 2 });
    expect(history).toEqual(['HEALTHCHECK ["CMD" "true"]']);
  });
});
