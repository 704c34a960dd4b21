import { describe, expect, it } from "vitest";
import type { ContainerView } from "../daemon/api.js";
import { LABEL } from "../../model/labels.js";
import { restartWaves, withRestartDependents } from "./lifecycle.js";

// Only what restart reads of a container: its service and its depends_on label.
const ctr = (service: string, dependsOn = ""): ContainerView => ({ service, name: `p-${service}-1`, labels: { [LABEL.dependsOn]: dependsOn } }) as unknown as ContainerView;

const db = ctr("db");
const web = ctr("web", "db:service_started:true");
const proxy = ctr("proxy", "web:service_healthy:true,db:service_started:false");
const batch = ctr("batch", "db:service_started:false");

describe("restart's dependents", () => {
  it("restarting a service takes in, transitively, what depends on it with restart: true", () => {
    expect(withRestartDependents([db, web, proxy, batch], ["db"]).sort()).toEqual(["db", "proxy", "web"]);
    expect(withRestartDependents([db, web, proxy, batch], ["web"]).sort()).toEqual(["proxy", "web"]);
    expect(withRestartDependents([db, web, proxy, batch], ["batch"])).toEqual(["batch"]);
  });

  it("goes in waves, each service after those it restarts with", () => {
    expect(restartWaves([proxy, web, db, batch]).map((w) => w.map((c) => c.service))).toEqual([["db", "batch"], ["web"], ["proxy"]]);
    // Only what is restarted orders: web alone is one wave.
    expect(restartWaves([web]).map((w) => w.map((c) => c.service))).toEqual([["web"]]);
  });
});
