/**
 * Which of a viewer's candidates the box will check: with media.loopbackOnly only 127.0.0.1;
 * otherwise anything but its own loopback, unspecified and link-local addresses (in any spelling),
 * and no host name but a browser's mDNS one.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { icePolicy, isOwnOrLinkLocal } from "../../../agent/media/icePolicy.ts";
import { configSchema } from "../../../config/schema.ts";

const policy = (media: object) => icePolicy(configSchema.parse({ mqtt: { url: "mqtt://127.0.0.1" }, media }).media);
const candidate = (address: string) => `candidate:1 1 udp 2122260223 ${address} 50000 typ host`;

describe("a viewer's candidates", () => {
  const open = policy({});

  it.each(["127.0.0.1", "127.8.9.10", "0.0.0.0", "169.254.169.254", "::1", "0:0:0:0:0:0:0:1", "::", "fe80::1", "FE80::abcd", "febf::1", "::ffff:127.0.0.1", "::ffff:169.254.1.1"])(
    "refuses %s when media is not confined to loopback",
    (address) => {
      expect(open.remoteRefusal(candidate(address))).toMatch(/loopback, unspecified or link-local/);
    },
  );

  it.each(["192.0.2.10", "10.1.2.3", "2001:db8::1", "fec0::1", "0ee1f2a4-3b5c-4d6e-8f90-a1b2c3d4e5f6.local"])("takes %s", (address) => {
    expect(open.remoteRefusal(candidate(address))).toBeUndefined();
  });

  it("refuses host names other than a browser's mDNS name (they would be looked up, to anything)", () => {
    expect(open.remoteRefusal(candidate("localhost"))).toMatch(/neither an IP address nor an mDNS name/);
    expect(open.remoteRefusal(candidate("metadata.google.internal"))).toMatch(/neither/);
    expect(open.remoteRefusal(candidate("a.b.local"))).toMatch(/neither/);
  });

  it("with loopbackOnly, takes 127.0.0.1 only", () => {
    const loopback = policy({ loopbackOnly: true });
    expect(loopback.remoteRefusal(candidate("127.0.0.1"))).toBeUndefined();
    expect(loopback.remoteRefusal(candidate("192.0.2.10"))).toMatch(/media.loopbackOnly/);
  });

  it("judges every IPv4 address the same whether written plainly or IPv4-mapped", () => {
    fc.assert(
      fc.property(fc.ipV4(), (address) => {
        const inRange = /^(127|0)\./.test(address) || address.startsWith("169.254.");
        expect(isOwnOrLinkLocal(address)).toBe(inRange);
        expect(isOwnOrLinkLocal(`::ffff:${address}`)).toBe(inRange);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on a candidate line of any text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (line) => {
        const refusal = open.remoteRefusal(line);
        expect(refusal === undefined || typeof refusal === "string").toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
