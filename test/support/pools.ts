// The one table of test address pools. Every suite or bench that gives an
// engine, a test daemon or a private dockerd networks of its own takes the
// second octet X of 10.X.0.0/16 from here: vitest runs several files at once,
// and two users of one /16 put bridges with the same subnets on the host,
// which route into each other. pools.test.ts fails when two entries overlap,
// when an entry's user no longer asks for it, or when a suite writes an
// octet of its own instead of taking one from this table, or when a stack
// file under test/ fixes a 10.X subnet outside an entry that names it.

export interface PoolEntry {
  /** Second octets [first, last] of 10.X.0.0/16 (one octet: first === last). */
  octets: readonly [number, number];
  /** Files that take it (relative to the repository root); a pool is never shared by two runs that can overlap. */
  users: readonly string[];
}

export const POOLS = {
  // Each test daemon draws one /16 at random from this range (test/support/daemon.ts).
  "test-daemons": { octets: [120, 199], users: ["test/support/daemon.ts"] },
  // engine/network's unit tests carve /20s of 10.213/16 that no host route covers.
  "engine-network-units": { octets: [213, 213], users: ["engine/network/testing.ts"] },
  "engine-containers": { octets: [216, 216], users: ["test/engine-containers.test.ts"] },
  "engine-network": { octets: [217, 217], users: ["test/engine-network.test.ts"] },
  "bench-containers": { octets: [218, 218], users: ["bench/containers.ts"] },
  "bench-commit": { octets: [219, 219], users: ["bench/commit.ts"] },
  "bench-network": { octets: [220, 220], users: ["bench/network.ts"] },
  "bench-build": { octets: [221, 221], users: ["bench/build.ts"] },
  "engine-conformance-docker": { octets: [226, 226], users: ["test/engine-conformance-docker.test.ts"] },
  "docker-engine": { octets: [227, 227], users: ["test/docker-engine.test.ts"] },
  "docker-build": { octets: [228, 228], users: ["test/docker-build.test.ts"] },
  "build-docker": { octets: [229, 229], users: ["test/build-docker.e2e.test.ts"] },
  "docker-daemon": { octets: [230, 230], users: ["test/docker-daemon.test.ts"] },
  "engines-per-stack": { octets: [231, 231], users: ["test/engines-per-stack.e2e.test.ts"] },
  "bench-docker-engine": { octets: [232, 232], users: ["bench/docker-engine.ts"] },
  "security-confinement": { octets: [233, 233], users: ["test/security/confinement.test.ts"] },
  "build-exec": { octets: [234, 234], users: ["test/build-exec.e2e.test.ts"] },
  "security-copyup": { octets: [235, 235], users: ["test/security/copyup.test.ts"] },
  "security-network": { octets: [236, 236], users: ["test/security/network.test.ts"] },
  "build-corpus-dockerd": { octets: [237, 237], users: ["test/build-corpus.e2e.test.ts"] },
  "build-corpus-engine": { octets: [239, 239], users: ["test/build-corpus.e2e.test.ts"] },
  "docker-verbs": { octets: [222, 222], users: ["test/docker-verbs.e2e.test.ts"] },
  "docker-auth": { octets: [223, 223], users: ["test/docker-auth.e2e.test.ts"] },
  "image-prune-peer": { octets: [224, 224], users: ["test/image-prune-peer.e2e.test.ts"] },
  "engine-conformance": { octets: [238, 238], users: ["test/engine-conformance.test.ts"] },
  // User-defined subnets a stack file names (a /24 per process inside the /16).
  "networks-ipam": { octets: [250, 250], users: ["test/networks-ipam.e2e.test.ts"] },
  "ipv6": { octets: [251, 251], users: ["test/ipv6.e2e.test.ts"] },
  "stacks-blog": { octets: [252, 252], users: ["test/stacks/blog/docker-compose.yml"] },
  // The swarm lab's node subnet, overlay pool and dockerd pools: inside the lab's own namespaces.
  "swarm-lab": { octets: [77, 79], users: ["test/fixtures/swarm-lab.ts"] },
} as const satisfies Record<string, PoolEntry>;

export type PoolName = keyof typeof POOLS;

/** The second octet of a one-octet pool. */
export function poolOctet(name: PoolName): number {
  const [first, last] = POOLS[name].octets;
  if (first !== last) throw new Error(`pool ${name} is a range (10.${first}-${last}): use randomPoolOctet`);
  return first;
}

/** One second octet of a range pool, at random (several users of the range pick apart most of the time). */
export function randomPoolOctet(name: PoolName, random: () => number = Math.random): number {
  const [first, last] = POOLS[name].octets;
  return first + Math.floor(random() * (last - first + 1));
}
