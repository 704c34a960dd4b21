import { describe, expect, it } from "vitest";
import type { ContainerStats } from "../daemon/api.js";
import { binarySize, cpuPercent, decimalSize, goG, statsTable } from "./stats.js";

const sample = (over: Partial<ContainerStats>): ContainerStats => ({
  time: 0,
  cpuUsageNs: 0,
  systemUsageNs: 0,
  onlineCpus: 4,
  memoryUsage: 0,
  memoryLimit: 0,
  pids: 0,
  blockRead: 0,
  blockWrite: 0,
  netRx: 0,
  netTx: 0,
  ...over,
});

describe("stats formatting, as docker's go-units", () => {
  it("formats like Go's %g", () => {
    expect(goG(0, 4)).toBe("0");
    expect(goG(1.5, 4)).toBe("1.5");
    expect(goG(12.5, 3)).toBe("12.5");
    expect(goG(1.23456, 4)).toBe("1.235");
    expect(goG(1023.9, 4)).toBe("1024");
    expect(goG(999.6, 3)).toBe("1e+03");
    expect(goG(100, 3)).toBe("100");
  });

  it("memory in binary units, I/O in decimal ones", () => {
    expect(binarySize(0)).toBe("0B");
    expect(binarySize(512)).toBe("512B");
    expect(binarySize(1536)).toBe("1.5KiB");
    expect(binarySize(3.5 * 1024 * 1024)).toBe("3.5MiB");
    expect(binarySize(8 * 1024 ** 3)).toBe("8GiB");
    expect(decimalSize(648)).toBe("648B");
    expect(decimalSize(1234)).toBe("1.23kB");
    expect(decimalSize(5_600_000)).toBe("5.6MB");
  });

  it("cpu % is the container's share of host CPU time between two samples, times the CPUs", () => {
    const prev = sample({ cpuUsageNs: 1e9, systemUsageNs: 100e9 });
    expect(cpuPercent(sample({ cpuUsageNs: 2e9, systemUsageNs: 104e9 }), prev)).toBeCloseTo(100);
    expect(cpuPercent(sample({ cpuUsageNs: 1e9, systemUsageNs: 104e9 }), prev)).toBe(0);
    expect(cpuPercent(sample({}), undefined)).toBe(0);
  });

  it("prints docker's columns", () => {
    const out = statsTable([{ ID: "abc", Container: "abc", Name: "p-web-1", CPUPerc: "0.00%", MemUsage: "1MiB / 2GiB", MemPerc: "0.05%", NetIO: "0B / 0B", BlockIO: "0B / 0B", PIDs: "1" }]);
    expect(out.split("\n")[0]).toBe("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS");
  });
});
