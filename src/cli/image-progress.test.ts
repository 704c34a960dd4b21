import { Writable } from "node:stream";
import { describe, expect, test } from "vitest";
import { humanSize } from "./format.js";
import { progressBar, ProgressRenderer } from "./image-progress.js";

function sink(): { out: Writable & { isTTY?: boolean }; text: () => string } {
  let text = "";
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { out, text: () => text };
}

describe("sizes and bars", () => {
  test("decimal units with docker's precision", () => {
    expect(humanSize(0)).toBe("0B");
    expect(humanSize(999)).toBe("999B");
    expect(humanSize(1_048_576)).toBe("1.049MB");
    expect(humanSize(2_129_920, 3)).toBe("2.13MB");
    expect(humanSize(70_400_000)).toBe("70.4MB");
  });

  test("a bar on wide terminals, numbers only on narrow ones", () => {
    expect(progressBar(50, 100, 120)).toBe(`[${"=".repeat(25)}>${" ".repeat(25)}]      50B/100B`);
    expect(progressBar(50, 100, 80)).toBe("     50B/100B");
    expect(progressBar(0, 0, 120)).toBe("");
  });
});

describe("ProgressRenderer", () => {
  const pull = [
    { id: "latest", status: "Pulling from library/busybox" },
    { id: "aaa", status: "Pulling fs layer" },
    { id: "aaa", status: "Downloading", current: 10, total: 100 },
    { id: "aaa", status: "Downloading", current: 100, total: 100 },
    { id: "aaa", status: "Download complete" },
    { id: "aaa", status: "Pull complete" },
    { id: "", status: "Digest: sha256:x" },
  ];

  test("plain lines without byte counts when not a terminal", () => {
    const s = sink();
    const r = new ProgressRenderer(s.out, { tty: false });
    for (const p of pull) r.update(p);
    r.done("docker.io/library/busybox:latest");
    expect(s.text()).toBe(
      "latest: Pulling from library/busybox\naaa: Pulling fs layer\naaa: Download complete\naaa: Pull complete\nDigest: sha256:x\ndocker.io/library/busybox:latest\n",
    );
  });

  test("on a terminal each layer's line is redrawn in place", () => {
    const s = sink();
    const r = new ProgressRenderer(s.out, { tty: true, columns: 80 });
    for (const p of pull.slice(0, 3)) r.update(p);
    r.update({ id: "bbb", status: "Waiting" });
    r.update({ id: "aaa", status: "Pull complete" });
    expect(s.text()).toBe(
      "latest: Pulling from library/busybox\n" +
        "\n\x1b[1A\x1b[2K\raaa: Pulling fs layer\r\x1b[1B" +
        "\x1b[1A\x1b[2K\raaa: Downloading      10B/100B\r\x1b[1B" +
        "\n\x1b[1A\x1b[2K\rbbb: Waiting\r\x1b[1B" +
        "\x1b[2A\x1b[2K\raaa: Pull complete\r\x1b[2B",
    );
  });

  test("quiet prints only the reference", () => {
    const s = sink();
    const r = new ProgressRenderer(s.out, { quiet: true });
    for (const p of pull) r.update(p);
    r.done("busybox");
    expect(s.text()).toBe("busybox\n");
  });
});
