/**
 * The fleet API's input checks (tools/fleet/serverQuery.ts), pure: what they accept and, for any
 * query string or id a client may send, that they answer a value or an error and never throw.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deviceIdOf, fleetQueryOf, historyDaysOf, noParams } from "../../../tools/fleet/serverQuery.ts";

const params = (text: string) => new URLSearchParams(text);

describe("the fleet API's input checks", () => {
  it("reads a query of filters, leaving empty ones out", () => {
    expect(fleetQueryOf(params("province=Lao%20Cai&district=&state=offline&q=sa"))).toEqual({ ok: true, value: { province: "Lao Cai", state: "offline", q: "sa" } });
    expect(fleetQueryOf(params(""))).toEqual({ ok: true, value: {} });
  });

  it("refuses unknown, repeated, overlong and out-of-range parameters with words", () => {
    expect(fleetQueryOf(params("State=offline"))).toMatchObject({ ok: false, error: expect.stringContaining('unknown parameter "State"') });
    expect(fleetQueryOf(params("q=a&q=b"))).toMatchObject({ ok: false, error: expect.stringContaining("more than once") });
    expect(fleetQueryOf(params(`version=${"9".repeat(65)}`))).toMatchObject({ ok: false, error: expect.stringContaining("longer than 64") });
    expect(fleetQueryOf(params("state=asleep"))).toMatchObject({ ok: false, error: expect.stringContaining("state must be one of") });
    expect(historyDaysOf(params(""))).toEqual({ ok: true, value: 1 });
    expect(historyDaysOf(params("days=30"))).toEqual({ ok: true, value: 30 });
    for (const days of ["0", "31", "-1", "1e1", "07.0", " 7", "0x1f"]) expect(historyDaysOf(params(`days=${encodeURIComponent(days)}`)).ok).toBe(false);
    expect(noParams(params("a=1")).ok).toBe(false);
  });

  it("takes a box id the agent's configuration allows, and nothing else", () => {
    expect(deviceIdOf("clinic-042")).toEqual({ ok: true, value: "clinic-042" });
    for (const id of ["", "-lead", "UPPER", "a".repeat(65), "a%2Fb", "%E0%A4%A", "a b", "..", "%00"]) expect(deviceIdOf(id).ok).toBe(false);
  });

  it("answers any query string or id with a value or an error, never a throw", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        for (const checked of [fleetQueryOf(params(text)), historyDaysOf(params(text)), noParams(params(text)), deviceIdOf(text)]) {
          if (!checked.ok) expect(typeof checked.error).toBe("string");
        }
        const query = fleetQueryOf(params(text));
        if (query.ok) for (const value of Object.values(query.value)) expect(String(value).length).toBeLessThanOrEqual(64);
      }),
      { numRuns: 2000 },
    );
  });
});
