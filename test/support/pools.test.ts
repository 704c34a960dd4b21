import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { POOLS, poolOctet, randomPoolOctet, type PoolName } from "./pools.js";

const root = join(import.meta.dirname, "../..");
const entries = Object.entries(POOLS) as [PoolName, (typeof POOLS)[PoolName]][];

/** TypeScript sources under `dir`, relative to the repository root. */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => relative(root, join(root, dir, f)));
}

describe("the test address pools", () => {
  it("never give one second octet to two users", () => {
    const owner = new Map<number, string>();
    const clashes: string[] = [];
    for (const [name, { octets }] of entries) {
      expect(octets[0], name).toBeLessThanOrEqual(octets[1]);
      expect(octets[0], name).toBeGreaterThan(0);
      expect(octets[1], name).toBeLessThan(255);
      for (let o = octets[0]; o <= octets[1]; o++) {
        const other = owner.get(o);
        if (other) clashes.push(`10.${o}: ${other} and ${name}`);
        owner.set(o, name);
      }
    }
    expect(clashes).toEqual([]);
  });

  it("list users that exist and ask for their pool by name", () => {
    const stale: string[] = [];
    for (const [name, { users }] of entries)
      for (const user of users) {
        const file = join(root, user);
        if (!existsSync(file) || !readFileSync(file, "utf8").includes(`"${name}"`)) stale.push(`${name}: ${user}`);
      }
    expect(stale).toEqual([]);
  });

  it("are the only place a suite or bench gets an octet from", () => {
    // An octet written in place of a table lookup: the bug that gave two suites one pool.
    const literal = [/poolOctet:\s*\d/, /startMirroringDockerd\([^,)]*,\s*\d/, /default-address-pools?["']?[,:]?\s*[[{`"']*\s*(base[:=]\s*)?["'`]?10\.\d/];
    const found: string[] = [];
    for (const file of [...sources("test"), ...sources("bench"), ...sources("engine").filter((f) => f.endsWith("testing.ts"))]) {
      if (file.endsWith(".test.ts") && !file.startsWith("test/")) continue;
      if (file === "test/support/pools.test.ts") continue;
      const text = readFileSync(join(root, file), "utf8");
      text.split("\n").forEach((line, i) => {
        if (literal.some((re) => re.test(line))) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  it("own every 10.X subnet or address a test stack file fixes", () => {
    // A stack file under test/ with `subnet: 10.77.0.0/24` puts a bridge in another suite's pool the day a test runs it up.
    const stray: string[] = [];
    for (const file of readdirSync(join(root, "test"), { recursive: true, encoding: "utf8" }).filter((f) => /\.ya?ml$/.test(f))) {
      const rel = relative(root, join(root, "test", file));
      readFileSync(join(root, rel), "utf8")
        .split("\n")
        .forEach((line, i) => {
          const m = /^\s*-?\s*(?:subnet|ipv4_address|ip_range|gateway):\s*["']?10\.(\d+)\./.exec(line);
          if (!m) return;
          const octet = Number(m[1]);
          const entry = entries.find(([, { octets }]) => octets[0] <= octet && octet <= octets[1]);
          if (!entry || !(entry[1].users as readonly string[]).includes(rel)) stray.push(`${rel}:${i + 1}: ${line.trim()} (10.${octet}: ${entry ? entry[0] : "no pool"})`);
        });
    }
    expect(stray).toEqual([]);
  });

  it("hand out one octet, or one of a range", () => {
    expect(poolOctet("engine-containers")).toBe(POOLS["engine-containers"].octets[0]);
    expect(() => poolOctet("test-daemons")).toThrow(/range/);
    const [first, last] = POOLS["test-daemons"].octets;
    expect(randomPoolOctet("test-daemons", () => 0)).toBe(first);
    expect(randomPoolOctet("test-daemons", () => 0.999999)).toBe(last);
  });
});
