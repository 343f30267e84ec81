import { describe, expect, it } from "vitest";
import { consoleAskerOf, consoleBrokerOf, ownOrigin } from "../../../tools/fleet/consoleRelay.ts";

describe("consoleAskerOf", () => {
  const audience = { cn: "operator.lan", role: "operator" as const, boxes: new Set(["box-a"]) };

  it("is the roster's person, seeing their boxes only", () => {
    const asker = consoleAskerOf(audience, { rosterInForce: true, actWithoutRoster: false, peerCn: "operator.lan" });
    expect([asker?.cn, asker?.role, asker?.sees("box-a"), asker?.sees("box-b")]).toEqual(["operator.lan", "operator", true, false]);
  });

  it("is nobody without a roster, or off it, unless the service acts without one", () => {
    expect(consoleAskerOf(undefined, { rosterInForce: true, actWithoutRoster: true, peerCn: "operator.x" })).toBeUndefined();
    expect(consoleAskerOf(undefined, { rosterInForce: false, actWithoutRoster: false, peerCn: undefined })).toBeUndefined();
    const anyone = consoleAskerOf(undefined, { rosterInForce: false, actWithoutRoster: true, peerCn: undefined });
    expect([anyone?.cn, anyone?.role, anyone?.sees("box-z")]).toEqual(["anyone", "technician", true]);
  });

  it("never makes a topic level of a CN that is not one", () => {
    for (const peerCn of ["a/b", "x+", "#", "", "a".repeat(65)]) {
      expect(consoleAskerOf(undefined, { rosterInForce: false, actWithoutRoster: true, peerCn })?.cn).toBe("anyone");
    }
  });
});

describe("ownOrigin", () => {
  const hostAllowed = (host: string) => host === "fleet.example:8090";
  it.each([
    ["https://fleet.example:8090", true],
    ["http://fleet.example:8090", false],
    ["https://evil.example:8090", false],
    ["https://fleet.example:8090/", false],
    ["null", false],
  ])("%s: %s", (origin, expected) => {
    expect(ownOrigin(origin, "https:", hostAllowed)).toBe(expected);
  });
});

describe("consoleBrokerOf", () => {
  it("takes the service's broker and its certificate for mqtts, the MQTT ports by default", () => {
    const tls = { cert: Buffer.from("c"), key: Buffer.from("k") };
    expect(consoleBrokerOf("mqtts://broker.example", tls)).toEqual({ host: "broker.example", port: 8883, tls });
    expect(consoleBrokerOf("mqtt://127.0.0.1:1884", {})).toEqual({ host: "127.0.0.1", port: 1884 });
    expect(consoleBrokerOf("mqtt://[::1]", {})).toEqual({ host: "::1", port: 1883 });
  });
});
