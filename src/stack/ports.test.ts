import { describe, expect, it } from "vitest";
import { parsePortRange, parsePortShort } from "./ports.js";
import type { PortShort } from "./ports.js";

const one = (p: number) => ({ start: p, end: p });

describe("parsePortShort", () => {
  const valid: { input: string | number; want: PortShort }[] = [
    { input: 80, want: { target: one(80), published: undefined, hostIp: undefined, protocol: "tcp" } },
    { input: "80", want: { target: one(80), published: undefined, hostIp: undefined, protocol: "tcp" } },
    { input: "53/udp", want: { target: one(53), published: undefined, hostIp: undefined, protocol: "udp" } },
    { input: "8080:80", want: { target: one(80), published: one(8080), hostIp: undefined, protocol: "tcp" } },
    { input: "0:80", want: { target: one(80), published: one(0), hostIp: undefined, protocol: "tcp" } },
    {
      input: "127.0.0.1:8080:80",
      want: { target: one(80), published: one(8080), hostIp: "127.0.0.1", protocol: "tcp" },
    },
    { input: "127.0.0.1::80", want: { target: one(80), published: undefined, hostIp: "127.0.0.1", protocol: "tcp" } },
    {
      input: "8000-8010:8000-8010/udp",
      want: { target: { start: 8000, end: 8010 }, published: { start: 8000, end: 8010 }, hostIp: undefined, protocol: "udp" },
    },
    {
      input: "9000-9010:8000-8010",
      want: { target: { start: 8000, end: 8010 }, published: { start: 9000, end: 9010 }, hostIp: undefined, protocol: "tcp" },
    },
    // Docker picks one host port of the range for a single container port.
    {
      input: "8000-8010:80",
      want: { target: one(80), published: { start: 8000, end: 8010 }, hostIp: undefined, protocol: "tcp" },
    },
    { input: "3000-3005", want: { target: { start: 3000, end: 3005 }, published: undefined, hostIp: undefined, protocol: "tcp" } },
    { input: "[::1]:80:80", want: { target: one(80), published: one(80), hostIp: "::1", protocol: "tcp" } },
    { input: "[::1]::80/sctp", want: { target: one(80), published: undefined, hostIp: "::1", protocol: "sctp" } },
    { input: "::1:8080:80", want: { target: one(80), published: one(8080), hostIp: "::1", protocol: "tcp" } },
    { input: "65535:65535", want: { target: one(65535), published: one(65535), hostIp: undefined, protocol: "tcp" } },
  ];
  for (const { input, want } of valid) {
    it(`parses ${JSON.stringify(input)}`, () => {
      expect(parsePortShort(input)).toEqual(want);
    });
  }

  const invalid: { input: string | number; wantErr: RegExp }[] = [
    { input: "99999:80", wantErr: /^invalid port "99999:80": port 99999 is out of range \(0-65535\)$/ },
    { input: "80:99999", wantErr: /port 99999 is out of range \(1-65535\)/ },
    { input: "65536", wantErr: /port 65536 is out of range/ },
    { input: "0", wantErr: /port 0 is out of range \(1-65535\)/ },
    { input: 0, wantErr: /must be between 1 and 65535/ },
    { input: 70000, wantErr: /must be between 1 and 65535/ },
    { input: 80.5, wantErr: /must be between 1 and 65535/ },
    { input: "8000-8010:80-81", wantErr: /published range 8000-8010 and target range 80-81 differ in length/ },
    { input: "80:8000-8010", wantErr: /differ in length/ },
    { input: "8010-8000", wantErr: /range 8010-8000 ends before it starts/ },
    { input: "abc", wantErr: /target port "abc" is not a port number or range/ },
    { input: "http:80", wantErr: /published port "http" is not a port number or range/ },
    { input: "", wantErr: /missing target port/ },
    { input: "80:", wantErr: /missing target port/ },
    { input: ":80", wantErr: /empty published port/ },
    { input: "80/xyz", wantErr: /unknown protocol "xyz"/ },
    { input: "80/TCP", wantErr: /unknown protocol "TCP"/ },
    { input: "80/tcp/udp", wantErr: /unknown protocol "tcp\/udp"/ },
    { input: "localhost:8080:80", wantErr: /"localhost" is not an IP address/ },
    { input: "1.2.3.4:80:80:90", wantErr: /"1\.2\.3\.4:80" is not an IP address/ },
    { input: "[::1]:80", wantErr: /expected \[IP\]:PUBLISHED:TARGET/ },
    { input: "[::1:80:80", wantErr: /missing \] after IPv6 address/ },
    { input: " 80", wantErr: /is not a port number or range/ },
  ];
  for (const { input, wantErr } of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(() => parsePortShort(input)).toThrow(wantErr);
    });
  }
});

describe("parsePortRange", () => {
  it("parses a port and a range", () => {
    expect(parsePortRange("8080")).toEqual(one(8080));
    expect(parsePortRange("8000-8010")).toEqual({ start: 8000, end: 8010 });
  });
  it("rejects junk", () => {
    expect(() => parsePortRange("80x")).toThrow(/^invalid port range "80x": "80x" is not a port number or range$/);
    expect(() => parsePortRange("")).toThrow(/^invalid port range "": empty$/);
    expect(() => parsePortRange("70000")).toThrow(/out of range/);
  });
});
