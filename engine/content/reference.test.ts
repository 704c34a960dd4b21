// Cases follow distribution/reference's own tests (normalize_test.go,
// reference_test.go), i.e. what `docker pull` accepts and how it names images.
import { describe, expect, it } from "vitest";
import {
  familiarName,
  InvalidReferenceError,
  manifestReference,
  normalizedName,
  parseReference,
  referenceString,
  registryHost,
  repositoryName,
  writtenDomain,
} from "./reference.js";

const HEX = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";
const DIGEST = `sha256:${HEX}`;

interface Valid {
  input: string;
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
  normalized: string;
  familiar: string;
}

const valid: Valid[] = [
  // Docker Hub short forms.
  { input: "busybox", domain: "docker.io", path: "library/busybox", normalized: "docker.io/library/busybox:latest", familiar: "busybox" },
  { input: "busybox:latest", domain: "docker.io", path: "library/busybox", tag: "latest", normalized: "docker.io/library/busybox:latest", familiar: "busybox:latest" },
  { input: "user/app", domain: "docker.io", path: "user/app", normalized: "docker.io/user/app:latest", familiar: "user/app" },
  { input: "user/app:1.2.3", domain: "docker.io", path: "user/app", tag: "1.2.3", normalized: "docker.io/user/app:1.2.3", familiar: "user/app:1.2.3" },
  { input: "library/debian", domain: "docker.io", path: "library/debian", normalized: "docker.io/library/debian:latest", familiar: "debian" },
  { input: "library/foo/bar", domain: "docker.io", path: "library/foo/bar", normalized: "docker.io/library/foo/bar:latest", familiar: "library/foo/bar" },
  { input: "store/foo/bar", domain: "docker.io", path: "store/foo/bar", normalized: "docker.io/store/foo/bar:latest", familiar: "store/foo/bar" },
  { input: "other/library", domain: "docker.io", path: "other/library", normalized: "docker.io/other/library:latest", familiar: "other/library" },
  { input: "ubuntu-12.04-base", domain: "docker.io", path: "library/ubuntu-12.04-base", normalized: "docker.io/library/ubuntu-12.04-base:latest", familiar: "ubuntu-12.04-base" },
  // Docker Hub spelled out, including its legacy and API host names.
  { input: "docker.io/busybox", domain: "docker.io", path: "library/busybox", normalized: "docker.io/library/busybox:latest", familiar: "busybox" },
  { input: "docker.io/library/busybox:1.36", domain: "docker.io", path: "library/busybox", tag: "1.36", normalized: "docker.io/library/busybox:1.36", familiar: "busybox:1.36" },
  { input: "docker.io/fooo/bar", domain: "docker.io", path: "fooo/bar", normalized: "docker.io/fooo/bar:latest", familiar: "fooo/bar" },
  { input: "index.docker.io/debian", domain: "docker.io", path: "library/debian", normalized: "docker.io/library/debian:latest", familiar: "debian" },
  { input: "index.docker.io/docker/docker", domain: "docker.io", path: "docker/docker", normalized: "docker.io/docker/docker:latest", familiar: "docker/docker" },
  { input: "registry-1.docker.io/alpine", domain: "docker.io", path: "library/alpine", normalized: "docker.io/library/alpine:latest", familiar: "alpine" },
  { input: "registry-1.docker.io/library/alpine:3", domain: "docker.io", path: "library/alpine", tag: "3", normalized: "docker.io/library/alpine:3", familiar: "alpine:3" },
  // Hex-looking names are fine once they are clearly names.
  { input: `docker.io/${HEX}`, domain: "docker.io", path: `library/${HEX}`, normalized: `docker.io/library/${HEX}:latest`, familiar: HEX },
  { input: HEX.slice(0, 63), domain: "docker.io", path: `library/${HEX.slice(0, 63)}`, normalized: `docker.io/library/${HEX.slice(0, 63)}:latest`, familiar: HEX.slice(0, 63) },
  // Other registries: localhost, host:port, IPv4, IPv6.
  { input: "localhost/x", domain: "localhost", path: "x", normalized: "localhost/x:latest", familiar: "localhost/x" },
  { input: "localhost:5000/x", domain: "localhost:5000", path: "x", normalized: "localhost:5000/x:latest", familiar: "localhost:5000/x" },
  { input: "127.0.0.1:5000/a/b:tag", domain: "127.0.0.1:5000", path: "a/b", tag: "tag", normalized: "127.0.0.1:5000/a/b:tag", familiar: "127.0.0.1:5000/a/b:tag" },
  { input: "127.0.0.1:8000/privatebase", domain: "127.0.0.1:8000", path: "privatebase", normalized: "127.0.0.1:8000/privatebase:latest", familiar: "127.0.0.1:8000/privatebase" },
  { input: "192.168.1.1:5000/repo:5050", domain: "192.168.1.1:5000", path: "repo", tag: "5050", normalized: "192.168.1.1:5000/repo:5050", familiar: "192.168.1.1:5000/repo:5050" },
  { input: "[::1]:5000/x", domain: "[::1]:5000", path: "x", normalized: "[::1]:5000/x:latest", familiar: "[::1]:5000/x" },
  { input: "[2001:db8::1]/repo:tag", domain: "[2001:db8::1]", path: "repo", tag: "tag", normalized: "[2001:db8::1]/repo:tag", familiar: "[2001:db8::1]/repo:tag" },
  { input: "[fc00:1:2:3:4:5:6:7]:5000/library/debian", domain: "[fc00:1:2:3:4:5:6:7]:5000", path: "library/debian", normalized: "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest", familiar: "[fc00:1:2:3:4:5:6:7]:5000/library/debian" },
  { input: "example.com:8000/private/moonbase", domain: "example.com:8000", path: "private/moonbase", normalized: "example.com:8000/private/moonbase:latest", familiar: "example.com:8000/private/moonbase" },
  { input: "test-com:8080/foo", domain: "test-com:8080", path: "foo", normalized: "test-com:8080/foo:latest", familiar: "test-com:8080/foo" },
  { input: "xn--n3h.com:18080/foo", domain: "xn--n3h.com:18080", path: "foo", normalized: "xn--n3h.com:18080/foo:latest", familiar: "xn--n3h.com:18080/foo" },
  { input: "sub-dom1.foo.com/bar/baz/quux:some-long-tag", domain: "sub-dom1.foo.com", path: "bar/baz/quux", tag: "some-long-tag", normalized: "sub-dom1.foo.com/bar/baz/quux:some-long-tag", familiar: "sub-dom1.foo.com/bar/baz/quux:some-long-tag" },
  { input: "b.gcr.io/test.example.com/my-app:test.example.com", domain: "b.gcr.io", path: "test.example.com/my-app", tag: "test.example.com", normalized: "b.gcr.io/test.example.com/my-app:test.example.com", familiar: "b.gcr.io/test.example.com/my-app:test.example.com" },
  // An uppercase first element can only be a host name.
  { input: "Foo/bar", domain: "Foo", path: "bar", normalized: "Foo/bar:latest", familiar: "Foo/bar" },
  { input: "LOCALDOMAIN/debian", domain: "LOCALDOMAIN", path: "debian", normalized: "LOCALDOMAIN/debian:latest", familiar: "LOCALDOMAIN/debian" },
  // Without "/", a host:port is really name:tag, and "." makes no host.
  { input: "192.168.0.1", domain: "docker.io", path: "library/192.168.0.1", normalized: "docker.io/library/192.168.0.1:latest", familiar: "192.168.0.1" },
  { input: "192.168.0.1:80", domain: "docker.io", path: "library/192.168.0.1", tag: "80", normalized: "docker.io/library/192.168.0.1:80", familiar: "192.168.0.1:80" },
  { input: "foo_bar.com:8080", domain: "docker.io", path: "library/foo_bar.com", tag: "8080", normalized: "docker.io/library/foo_bar.com:8080", familiar: "foo_bar.com:8080" },
  { input: "foo/foo_bar.com:8080", domain: "docker.io", path: "foo/foo_bar.com", tag: "8080", normalized: "docker.io/foo/foo_bar.com:8080", familiar: "foo/foo_bar.com:8080" },
  { input: "test_com/foo", domain: "docker.io", path: "test_com/foo", normalized: "docker.io/test_com/foo:latest", familiar: "test_com/foo" },
  // Separators inside path components.
  { input: "docker---rules/docker", domain: "docker.io", path: "docker---rules/docker", normalized: "docker.io/docker---rules/docker:latest", familiar: "docker---rules/docker" },
  { input: "dock__er/d", domain: "docker.io", path: "dock__er/d", normalized: "docker.io/dock__er/d:latest", familiar: "dock__er/d" },
  // Tags: case-sensitive, up to 128 characters.
  { input: "lowercase:Uppercase", domain: "docker.io", path: "library/lowercase", tag: "Uppercase", normalized: "docker.io/library/lowercase:Uppercase", familiar: "lowercase:Uppercase" },
  { input: `busybox:_${"a".repeat(127)}`, domain: "docker.io", path: "library/busybox", tag: `_${"a".repeat(127)}`, normalized: `docker.io/library/busybox:_${"a".repeat(127)}`, familiar: `busybox:_${"a".repeat(127)}` },
  // The longest path Docker allows.
  { input: `${"a/".repeat(127)}a:tag`, domain: "docker.io", path: `${"a/".repeat(127)}a`, tag: "tag", normalized: `docker.io/${"a/".repeat(127)}a:tag`, familiar: `${"a/".repeat(127)}a:tag` },
  // Digests: pinned, with or without a tag.
  { input: `registry.example.com/x@${DIGEST}`, domain: "registry.example.com", path: "x", digest: DIGEST, normalized: `registry.example.com/x@${DIGEST}`, familiar: `registry.example.com/x@${DIGEST}` },
  { input: `busybox@${DIGEST}`, domain: "docker.io", path: "library/busybox", digest: DIGEST, normalized: `docker.io/library/busybox@${DIGEST}`, familiar: `busybox@${DIGEST}` },
  { input: `busybox:latest@${DIGEST}`, domain: "docker.io", path: "library/busybox", tag: "latest", digest: DIGEST, normalized: `docker.io/library/busybox:latest@${DIGEST}`, familiar: `busybox:latest@${DIGEST}` },
  { input: `[2001:db8::1]:5000/repo:tag@${DIGEST}`, domain: "[2001:db8::1]:5000", path: "repo", tag: "tag", digest: DIGEST, normalized: `[2001:db8::1]:5000/repo:tag@${DIGEST}`, familiar: `[2001:db8::1]:5000/repo:tag@${DIGEST}` },
];

const invalid: Array<[input: string, message: string | RegExp]> = [
  ["", "repository name must have at least one component"],
  [HEX, "cannot specify 64-byte hexadecimal strings"],
  // Uppercase repository names get Docker's specific message.
  ["Busybox", "repository name (library/Busybox) must be lowercase"],
  ["Uppercase:tag", "repository name (library/Uppercase) must be lowercase"],
  ["docker/Docker", "repository name (docker/Docker) must be lowercase"],
  ["docker.io/docker/Docker", "repository name (docker/Docker) must be lowercase"],
  ["test:5000/Uppercase/lowercase:tag", "repository name (Uppercase/lowercase) must be lowercase"],
  // Malformed path components.
  ["-docker", "invalid repository name"],
  ["-docker/docker", "invalid repository name"],
  ["docker-/docker", "invalid repository name"],
  ["-docker-/docker", "invalid repository name"],
  ["____/____", "invalid repository name"],
  ["_docker/_docker", "invalid repository name"],
  // With a "." the first element is taken for a host, and these are not hosts.
  ["dock..er/docker", 'invalid registry host "dock..er"'],
  ["dock_.er/docker", 'invalid registry host "dock_.er"'],
  ["dock-.er/docker", 'invalid registry host "dock-.er"'],
  ["docker/", "invalid repository name"],
  ["docker///docker", "invalid repository name"],
  ["docker.io/docker///docker", "invalid repository name"],
  ["aa/asdf$$^/aa", "invalid repository name"],
  ["test image:1", "invalid repository name"],
  [" busybox", "invalid repository name"],
  [":justtag", "invalid repository name"],
  [`@${DIGEST}`, "invalid repository name"],
  ["[fc00::1]", "invalid repository name"],
  ["[fc00::1]:5000", "invalid repository name"],
  // Malformed hosts.
  ["https://github.com/docker/docker", 'invalid registry host "https:"'],
  ["-docker.io/docker/docker", 'invalid registry host "-docker.io"'],
  ["fc00::1:5000/debian", 'invalid registry host "fc00::1:5000"'],
  ["[fe80::1%eth0]:5000/debian", "invalid registry host"],
  ["[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid registry host"],
  ["private.registry:port/namespace/test:1", 'invalid registry host "private.registry:port"'],
  ["private@registry:5000/test", "invalid registry host"],
  ["foo_bar.com/x", 'invalid registry host "foo_bar.com"'],
  // Malformed tags.
  ["busybox:", 'invalid tag ""'],
  ["busybox:-bad", 'invalid tag "-bad"'],
  ["busybox:.bad", 'invalid tag ".bad"'],
  ["private.registry:5000/namespace/test:image:1", 'invalid tag "image:1"'],
  [`busybox:${"a".repeat(129)}`, "invalid tag"],
  // Malformed or unsupported digests.
  ["repo@sha256:ffffffffffffffffffffffffffffffffff", "sha256 needs exactly 64 lowercase hex characters"],
  [`busybox@sha256:${HEX.toUpperCase()}`, "sha256 needs exactly 64 lowercase hex characters"],
  [`validname@invaliddigest:${HEX}`, 'unsupported digest algorithm "invaliddigest"'],
  [`busybox@sha512:${"f".repeat(128)}`, 'unsupported digest algorithm "sha512"'],
  ["busybox@sha256:xyz", 'invalid digest "sha256:xyz"'],
  // Too long: the path, "library/" included, may have at most 255 characters.
  [`${"a/".repeat(128)}a:tag`, "repository name must not be more than 255 characters"],
  [`${"a".repeat(248)}`, "repository name must not be more than 255 characters"],
];

describe("parseReference", () => {
  it.each(valid)("parses $input", (c) => {
    const ref = parseReference(c.input);
    expect(ref).toEqual({
      domain: c.domain,
      path: c.path,
      ...(c.tag !== undefined && { tag: c.tag }),
      ...(c.digest !== undefined && { digest: c.digest }),
    });
    expect(normalizedName(ref)).toBe(c.normalized);
    expect(familiarName(ref)).toBe(c.familiar);
    // The normalized form is a fixed point.
    expect(parseReference(c.normalized)).toEqual(c.tag || c.digest ? ref : { ...ref, tag: "latest" });
  });

  it.each(invalid)("rejects %j", (input, message) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect((error as InvalidReferenceError).reference).toBe(input);
    expect((error as Error).message).toMatch(/^invalid reference format: /);
    if (typeof message === "string") expect((error as Error).message).toContain(message);
    else expect((error as Error).message).toMatch(message);
  });

  it("has at least 30 cases each way", () => {
    expect(valid.length).toBeGreaterThanOrEqual(30);
    expect(invalid.length).toBeGreaterThanOrEqual(30);
  });

  it("accepts the longest path at 255 characters, library/ included", () => {
    expect(parseReference("a".repeat(247)).path).toHaveLength(255);
  });
});

describe("reference formatting", () => {
  it("referenceString keeps exactly what was written, without a default tag", () => {
    expect(referenceString(parseReference("busybox"))).toBe("docker.io/library/busybox");
    expect(referenceString(parseReference("user/app:v1"))).toBe("docker.io/user/app:v1");
    expect(referenceString(parseReference(`x:1@${DIGEST}`))).toBe(`docker.io/library/x:1@${DIGEST}`);
  });

  it("repositoryName drops tag and digest", () => {
    expect(repositoryName(parseReference(`localhost:5000/a/b:1@${DIGEST}`))).toBe("localhost:5000/a/b");
  });

  it("pulls by digest when one is given, else by tag, else latest", () => {
    expect(manifestReference(parseReference("busybox"))).toBe("latest");
    expect(manifestReference(parseReference("busybox:1.36"))).toBe("1.36");
    expect(manifestReference(parseReference(`busybox:1.36@${DIGEST}`))).toBe(DIGEST);
  });

  it("maps Docker Hub to its API host and leaves other registries alone", () => {
    expect(registryHost("docker.io")).toBe("registry-1.docker.io");
    expect(registryHost("index.docker.io")).toBe("registry-1.docker.io");
    expect(registryHost(parseReference("busybox").domain)).toBe("registry-1.docker.io");
    expect(registryHost("localhost:5000")).toBe("localhost:5000");
    expect(registryHost("[::1]:5000")).toBe("[::1]:5000");
    expect(registryHost("ghcr.io")).toBe("ghcr.io");
  });
});

describe("writtenDomain: the registry a reference names as written", () => {
  it("a host with a dot, a port or localhost, or Hub by its name; none for Hub's short forms", () => {
    expect(writtenDomain("registry.example:5000/me/app:1")).toBe("registry.example:5000");
    expect(writtenDomain("127.0.0.1:5000/app")).toBe("127.0.0.1:5000");
    expect(writtenDomain("localhost/app")).toBe("localhost");
    expect(writtenDomain("docker.io/me/app")).toBe("docker.io");
    expect(writtenDomain("index.docker.io/me/app")).toBe("index.docker.io");
    expect(writtenDomain("me/app")).toBeUndefined();
    expect(writtenDomain("app:1")).toBeUndefined();
  });
});
