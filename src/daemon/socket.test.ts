import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listenPrivately, resolveGroup } from "./socket.js";

const dir = mkdtempSync(join(tmpdir(), "tscompose-socket-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("listenPrivately", () => {
  it("binds in a 0700 directory, never at the final path, and moves the socket there with mode 0660", async () => {
    const socket = join(dir, "d.sock");
    writeFileSync(socket, "a stale socket of a killed daemon");
    const server = createServer((_req, res) => res.end("ok"));
    const listen = server.listen.bind(server);
    const boundAt: { path: string; dirMode: number }[] = [];
    server.listen = ((path: string, cb: () => void) => {
      boundAt.push({ path, dirMode: statSync(dirname(path)).mode & 0o777 });
      return listen(path, cb);
    }) as typeof server.listen;
    // The most permissive umask: whatever it gives must never show.
    const umask = process.umask(0);
    try {
      await listenPrivately(server, socket);
    } finally {
      process.umask(umask);
    }
    try {
      expect(boundAt).toHaveLength(1);
      expect(boundAt[0]?.path).not.toBe(socket);
      expect(boundAt[0]?.dirMode).toBe(0o700);
      const st = statSync(socket);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o660);
      expect(readdirSync(dir)).toEqual(["d.sock"]); // the private directory is gone
      const answer = await new Promise<string>((resolve, reject) => {
        const c = connect(socket, () => c.write("GET / HTTP/1.0\r\n\r\n"));
        let text = "";
        c.on("data", (d: Buffer) => (text += d.toString()));
        c.on("end", () => resolve(text));
        c.on("error", reject);
      });
      expect(answer).toMatch(/ok$/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("resolveGroup (daemon --group)", () => {
  const lookup = (name: string): Promise<number | undefined> => Promise.resolve(({ docker: 998, root: 0 } as Record<string, number>)[name]);
  it("takes a gid or a group name", async () => {
    expect(await resolveGroup("0", lookup)).toBe(0);
    expect(await resolveGroup("1234", lookup)).toBe(1234);
    expect(await resolveGroup("docker", lookup)).toBe(998);
    expect(await resolveGroup("root")).toBe(0); // the system's own lookup
  });
  it("refuses a name that does not exist, garbage and impossible gids", async () => {
    await expect(resolveGroup("nosuchgroup", lookup)).rejects.toThrow('invalid --group "nosuchgroup": no such group');
    await expect(resolveGroup("tscompose-no-such-group-7")).rejects.toThrow(/no such group/);
    await expect(resolveGroup("12abc", lookup)).rejects.toThrow(/expected a group name or a numeric gid/);
    await expect(resolveGroup("", lookup)).rejects.toThrow(/expected a group name or a numeric gid/);
    await expect(resolveGroup("-1", lookup)).rejects.toThrow(/expected a group name or a numeric gid/);
    await expect(resolveGroup("4294967295", lookup)).rejects.toThrow(/below 4294967295/);
  });
});
