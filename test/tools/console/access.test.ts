import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newConsoleToken, originAllowed, originOf, tokenMatches, tokenOf } from "../../../tools/console/access.ts";

describe("who may use the console relay", () => {
  it("makes a new 256-bit token at each start", () => {
    const [a, b] = [newConsoleToken(), newConsoleToken()];
    expect(a).not.toBe(b);
    expect(Buffer.from(a, "base64url")).toHaveLength(32);
  });

  it("accepts the token only, not a prefix, an extension, nothing or another string", () => {
    const token = newConsoleToken();
    expect(tokenMatches(token, token)).toBe(true);
    for (const offered of [undefined, null, "", token.slice(0, -1), `${token}x`, token.toUpperCase()]) expect(tokenMatches(token, offered)).toBe(false);
    fc.assert(fc.property(fc.string(), (offered) => tokenMatches(token, offered) === (offered === token)));
  });

  it("reads one token from a request's query; two are refused, and a fragment never arrives", () => {
    expect(tokenOf("/mqtt?token=abc")).toBe("abc");
    expect(tokenOf("/?device=x&token=a%2Bb")).toBe("a+b");
    expect(tokenOf("/mqtt")).toBeUndefined();
    expect(tokenOf("/mqtt?token=a&token=b")).toBeUndefined();
    expect(tokenOf(undefined)).toBeUndefined();
  });

  it("takes a WebSocket from a page of the console's own origin, or from a tool that sends no Origin", () => {
    const own = originOf("127.0.0.1", 8080);
    expect(own).toBe("http://127.0.0.1:8080");
    expect(originOf("::1", 8080)).toBe("http://[::1]:8080");
    expect(originAllowed(own, [own])).toBe(true);
    expect(originAllowed("HTTP://127.0.0.1:8080", [own])).toBe(true); // browsers lower-case it anyway
    expect(originAllowed(undefined, [own])).toBe(true);
    for (const other of ["http://127.0.0.1:8081", "http://localhost:8080", "https://127.0.0.1:8080", "null", "http://evil.example", ""]) {
      expect(originAllowed(other, [own])).toBe(false);
    }
    expect(originAllowed([own, own], [own])).toBe(false);
  });
});
