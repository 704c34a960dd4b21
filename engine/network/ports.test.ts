// Choosing host ports, without root: binds only on 127.0.0.1.
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EngineError } from "../types.js";
import { choosePorts, probe, type PublishedPort } from "./ports.js";

const target = { containerIp: "10.213.9.2", networkId: "n1" };
const servers: Server[] = [];

async function occupy(port: number): Promise<void> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", () => r()));
  servers.push(s);
}

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

describe("choosePorts", () => {
  it("picks ephemeral ports and keeps fixed ones", async () => {
    const free = (await probe("tcp", "127.0.0.1", 0)).port;
    const got = await choosePorts(
      [
        { containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: "127.0.0.1" },
        { containerPort: 81, protocol: "tcp", hostPort: String(free), hostIp: "127.0.0.1" },
      ],
      [],
      target,
    );
    expect(got[0]!.hostPort).toBeGreaterThan(0);
    expect(got[1]).toEqual({ containerPort: 81, protocol: "tcp", hostIp: "127.0.0.1", hostPort: free, ...target });
  });

  it("takes the first free port of a range", async () => {
    const first = (await probe("tcp", "127.0.0.1", 0)).port;
    await occupy(first);
    const [got] = await choosePorts([{ containerPort: 80, protocol: "tcp", hostPort: `${first}-${first + 20}`, hostIp: "127.0.0.1" }], [], target);
    expect(got!.hostPort).toBeGreaterThan(first);
    expect(got!.hostPort).toBeLessThanOrEqual(first + 20);
  });

  it("fails naming the port when the host has it in use", async () => {
    const port = (await probe("tcp", "127.0.0.1", 0)).port;
    await occupy(port);
    const err = await choosePorts([{ containerPort: 80, protocol: "tcp", hostPort: String(port), hostIp: "127.0.0.1" }], [], target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe("conflict");
    expect((err as Error).message).toBe(`cannot publish 80/tcp: host port 127.0.0.1:${port}/tcp is already in use by another process on the host`);
  });

  it("counts our own records (a wildcard conflicts with a specific address) and the request itself", async () => {
    const port = (await probe("tcp", "127.0.0.1", 0)).port;
    const taken: PublishedPort[] = [{ containerPort: 80, protocol: "tcp", hostIp: "0.0.0.0", hostPort: port, containerIp: "10.213.9.3", networkId: "n1" }];
    await expect(choosePorts([{ containerPort: 80, protocol: "tcp", hostPort: String(port), hostIp: "127.0.0.1" }], taken, target)).rejects.toThrow(/already published by the container at 10.213.9.3/);
    // udp on the same number is a different port.
    await expect(choosePorts([{ containerPort: 80, protocol: "udp", hostPort: String(port), hostIp: "127.0.0.1" }], taken, target)).resolves.toHaveLength(1);
    const twice = (await probe("tcp", "127.0.0.1", 0)).port;
    await expect(
      choosePorts(
        [
          { containerPort: 80, protocol: "tcp", hostPort: String(twice), hostIp: "127.0.0.1" },
          { containerPort: 81, protocol: "tcp", hostPort: String(twice), hostIp: undefined },
        ],
        [],
        target,
      ),
    ).rejects.toThrow(/already published by this container/);
  });

  it("rejects IPv6 host addresses for a container without IPv6, ::1 always, bad ports and addresses the host does not have", async () => {
    await expect(choosePorts([{ containerPort: 80, protocol: "tcp", hostPort: "8080", hostIp: "::" }], [], target)).rejects.toThrow(/needs the container's network to have IPv6/);
    await expect(choosePorts([{ containerPort: 80, protocol: "tcp", hostPort: "8080", hostIp: "[::1]" }], [], { ...target, containerIp6: "fd00::2" })).rejects.toThrow(/IPv6 loopback/);
    await expect(choosePorts([{ containerPort: 80, protocol: "tcp", hostPort: "8080", hostIp: "nonsense" }], [], target)).rejects.toThrow(/not an IP address/);
    await expect(choosePorts([{ containerPort: 80, protocol: "tcp", hostPort: "90-80", hostIp: undefined }], [], target)).rejects.toThrow(/invalid host port/);
    await expect(choosePorts([{ containerPort: 0, protocol: "tcp", hostPort: undefined, hostIp: undefined }], [], target)).rejects.toThrow(/invalid container port/);
    // 198.51.100.222 (TEST-NET-2) is no address of this host; trying to bind it sends nothing.
    await expect(choosePorts([{ containerPort: 80, protocol: "tcp", hostPort: "18080", hostIp: "198.51.100.222" }], [], target)).rejects.toThrow(/not an address of this host/);
  });
});
