/**
 * Date Time and Current Time, from the layouts: Current Time is Date Time, Day of Week,
 * Fractions256, Adjust Reason.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCurrentTime, isoDeviceTime, readDateTime, writeDateTime } from "../../../drivers/ble-health/dateTime.ts";
import { FieldReader, FieldWriter } from "../../../drivers/ble-health/fields.ts";
import { dateTimeArb } from "./arbitraries.ts";

describe("Date Time and Current Time", () => {
  it("round-trips every valid Date Time", () => {
    fc.assert(
      fc.property(dateTimeArb, (dateTime) => {
        expect(readDateTime(new FieldReader(writeDateTime(new FieldWriter(), dateTime).toBytes()))).toEqual(dateTime);
      }),
    );
  });

  it("has no ISO time for an unknown or impossible date", () => {
    expect(isoDeviceTime({ year: 2026, month: 4, day: 31, hours: 0, minutes: 0, seconds: 0 })).toBeUndefined();
    expect(isoDeviceTime({ year: 2026, month: 0, day: 1, hours: 0, minutes: 0, seconds: 0 })).toBeUndefined();
    expect(isoDeviceTime({ year: 2028, month: 2, day: 29, hours: 23, minutes: 59, seconds: 59 })).toBe("2028-02-29T23:59:59");
  });

  it("encodes the box's clock in the site's zone as Current Time", () => {
    // 09:56:40.500 UTC on Thursday 3 December 2026, site at UTC+1 → 10:56:40, day 4, 128/256 s,
    // adjust reason 0x02 (external reference time update).
    const value = encodeCurrentTime({ now: new Date("2026-12-03T09:56:40.500Z"), utcOffsetMinutes: 60 });
    expect([...value]).toEqual([0xea, 0x07, 0x0c, 0x03, 0x0a, 0x38, 0x28, 0x04, 0x80, 0x02]);
    // Sunday is 7, and a zone west of UTC can move the date back.
    const sunday = encodeCurrentTime({ now: new Date("2026-12-07T02:00:00Z"), utcOffsetMinutes: -300, adjustReason: 0x01 });
    expect([...sunday]).toEqual([0xea, 0x07, 0x0c, 0x06, 0x15, 0x00, 0x00, 0x07, 0x00, 0x01]);
  });
});
