import { describe, expect, it } from "vitest";
import { diffProbes, diffSection, normalizeProbe, parseProbe, probeCommand } from "./probe.js";

const output = [
  "### hostname",
  "0123456789ab",
  "0123456789ab",
  "### hosts",
  "127.0.0.1\tlocalhost",
  "192.0.2.10\tdb.example.test",
  "10.1.2.3\t0123456789ab",
  "### resolv",
  "nameserver 10.1.2.1",
  "### addr",
  "10.1.2.3/24",
  "### gateway",
  "10.1.2.1",
  "### files",
  "",
].join("\n");

describe("probe", () => {
  it("passes the paths as the script's arguments, the sysctls and names in its variables", () => {
    const argv = probeCommand({ paths: ["/a", "/b c"], sysctls: ["net.core.somaxconn"], names: ["db", "cache"] });
    expect(argv.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(argv[2]).toMatch(/^PROBE_SYSCTLS='net.core.somaxconn'\nPROBE_NAMES='db cache'\n/);
    expect(argv.slice(3)).toEqual(["probe", "/a", "/b c"]);
  });

  it("splits the output into sections, an empty section included", () => {
    const p = parseProbe(output);
    expect(Object.keys(p)).toEqual(["hostname", "hosts", "resolv", "addr", "gateway", "files"]);
    expect(p.files).toEqual([]);
    expect(p.hostname).toEqual(["0123456789ab", "0123456789ab"]);
  });

  it("replaces the subnet's addresses, the embedded DNS and a default hostname, and keeps other addresses", () => {
    const n = normalizeProbe(parseProbe(output), { defaultHostname: true, embeddedDns: "gateway" });
    expect(n.hosts).toEqual(["127.0.0.1\tlocalhost", "192.0.2.10\tdb.example.test", "<subnet-ip>\t<container-id-prefix>"]);
    expect(n.resolv).toEqual(["nameserver <embedded-dns>"]);
    expect(n.addr).toBeUndefined();
    expect(n.gateway).toBeUndefined();
    const named = normalizeProbe(parseProbe(output), { defaultHostname: false, embeddedDns: { address: "127.0.0.11" } });
    expect(named.hostname).toEqual(["0123456789ab", "0123456789ab"]);
    expect(named.resolv).toEqual(["nameserver <subnet-ip>"]);
  });

  it("diffs sections as multisets and tells a reordering apart", () => {
    expect(diffSection(["a", "b", "b"], ["b", "a", "c"])).toEqual({ onlyOurs: ["b"], onlyTheirs: ["c"], reordered: false });
    expect(diffSection(["a", "b"], ["b", "a"])).toEqual({ onlyOurs: [], onlyTheirs: [], reordered: true });
    expect(diffProbes({ x: ["1"], y: ["2"] }, { x: ["1"], z: ["3"] })).toEqual({
      y: { onlyOurs: ["2"], onlyTheirs: [], reordered: false },
      z: { onlyOurs: [], onlyTheirs: ["3"], reordered: false },
    });
  });

  it("leaves out only an exec's soft open-files limit (runc's start races it), not its hard one or the main process's", () => {
    const line = (soft: number, hard: number): string => `Max open files            ${soft}                 ${hard}                 files`;
    const ctx = { defaultHostname: false, embeddedDns: "gateway" as const };
    const a = normalizeProbe({ limits: [line(1024, 2048)], "pid1-limits": [line(1024, 2048)] }, ctx);
    const b = normalizeProbe({ limits: [line(2048, 2048)], "pid1-limits": [line(2048, 2048)] }, ctx);
    expect(a.limits).toEqual(b.limits);
    expect(a["pid1-limits"]).not.toEqual(b["pid1-limits"]);
    const c = normalizeProbe({ limits: [line(1024, 4096)] }, ctx);
    expect(c.limits).not.toEqual(a.limits);
  });
});
