import { describe, expect, test } from "vitest";
import { Authorizer, parseChallenges } from "./auth.js";
import type { Endpoint } from "./hosts.js";

describe("parseChallenges", () => {
  test("Docker Hub's Bearer challenge", () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" } },
    ]);
  });

  test("several challenges, escapes, tokens and spaces", () => {
    expect(parseChallenges('Basic realm="a \\"quoted\\" realm", Bearer realm=https://x/token , error="insufficient_scope"')).toEqual([
      { scheme: "basic", params: { realm: 'a "quoted" realm' } },
      { scheme: "bearer", params: { realm: "https://x/token", error: "insufficient_scope" } },
    ]);
  });

  test("a scheme without parameters and garbage", () => {
    expect(parseChallenges("Negotiate")).toEqual([{ scheme: "negotiate", params: {} }]);
    expect(parseChallenges("")).toEqual([]);
  });
});

describe("Authorizer", () => {
  const endpoint: Endpoint = { url: "http://127.0.0.1:1", host: "127.0.0.1:1", credentialHost: "127.0.0.1:1", mirror: false, skipTlsVerify: false, httpFallback: false };

  test("asks the realm with service, scopes and Basic credentials, and caches the token until it expires", async () => {
    const asked: { url: string; headers: Record<string, string> }[] = [];
    let now = 1_000_000;
    const auth = new Authorizer(
      () => ({ username: "me", password: "secret" }),
      (url, headers) => {
        asked.push({ url: url.href, headers });
        return Promise.resolve({ status: 200, body: JSON.stringify({ token: `t${asked.length}`, expires_in: 60 }) });
      },
      () => now,
    );
    expect(await auth.authorize(endpoint, ["repository:a:pull"])).toBeUndefined();
    expect(auth.challenged(endpoint, ["repository:a:pull"], 'Bearer realm="http://127.0.0.1:2/token",service="reg",scope="repository:a:pull"', undefined)).toBe(true);
    const [first, second] = await Promise.all([auth.authorize(endpoint, ["repository:a:pull"]), auth.authorize(endpoint, ["repository:a:pull"])]);
    expect([first, second]).toEqual(["Bearer t1", "Bearer t1"]);
    expect(asked).toEqual([
      {
        url: "http://127.0.0.1:2/token?service=reg&scope=repository%3Aa%3Apull&account=me",
        headers: { authorization: `Basic ${Buffer.from("me:secret").toString("base64")}` },
      },
    ]);
    now += 56_000; // past expiry minus the 5 s margin
    expect(await auth.authorize(endpoint, ["repository:a:pull"])).toBe("Bearer t2");
  });

  test("Basic challenges use the login, and give up when it was already sent", () => {
    const auth = new Authorizer(() => ({ username: "u", password: "p" }), () => Promise.reject(new Error("no tokens here")));
    expect(auth.challenged(endpoint, [], 'Basic realm="r"', undefined)).toBe(true);
    const header = `Basic ${Buffer.from("u:p").toString("base64")}`;
    expect(auth.challenged(endpoint, [], 'Basic realm="r"', header)).toBe(false);
  });
});
