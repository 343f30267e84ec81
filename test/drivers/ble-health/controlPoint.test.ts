/**
 * Record Access Control Point requests and responses, Date Time and Current Time, from the
 * layouts: RACP is Op Code, Operator, Operand; Current Time is Date Time, Day of Week,
 * Fractions256, Adjust Reason.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCurrentTime, isoDeviceTime, readDateTime, writeDateTime } from "../../../drivers/ble-health/dateTime.ts";
import { FieldReader, FieldWriter } from "../../../drivers/ble-health/fields.ts";
import { decodeRacpResponse, encodeRacpRequest } from "../../../drivers/ble-health/racp.ts";
import { dateTimeArb, hex } from "./arbitraries.ts";

describe("RACP requests", () => {
  it("asks for all records, or those from a sequence number on (Filter Type 0x01)", () => {
    expect([...encodeRacpRequest({ op: "report-records" })]).toEqual([0x01, 0x01]);
    expect([...encodeRacpRequest({ op: "report-records", from: 0x0111 })]).toEqual([0x01, 0x03, 0x01, 0x11, 0x01]);
    expect([...encodeRacpRequest({ op: "report-count", from: 18 })]).toEqual([0x04, 0x03, 0x01, 0x12, 0x00]);
    expect([...encodeRacpRequest({ op: "report-count" })]).toEqual([0x04, 0x01]);
    expect([...encodeRacpRequest({ op: "abort" })]).toEqual([0x03, 0x00]);
  });

  it("refuses a sequence number that is not a uint16", () => {
    expect(() => encodeRacpRequest({ op: "report-records", from: 0x10000 })).toThrow(RangeError);
    expect(() => encodeRacpRequest({ op: "report-records", from: -1 })).toThrow(RangeError);
  });
});

describe("RACP responses", () => {
  it("decodes response codes and the number of records", () => {
    expect(decodeRacpResponse(hex("06 00 01 01"))).toEqual({ kind: "response", requestOpCode: 1, code: "success" });
    expect(decodeRacpResponse(hex("06 00 01 06"))).toEqual({ kind: "response", requestOpCode: 1, code: "no-records-found" });
    expect(decodeRacpResponse(hex("06 00 03 07"))).toEqual({ kind: "response", requestOpCode: 3, code: "abort-unsuccessful" });
    expect(decodeRacpResponse(hex("05 00 2A 00"))).toEqual({ kind: "count", records: 42 });
  });

  it.each([
    ["a reserved response code", "06 00 01 00"],
    ["a truncated response", "06 00 01"],
    ["a request op code", "01 01"],
    ["a non-Null operator", "06 01 01 01"],
    ["trailing bytes", "05 00 2A 00 00"],
    ["nothing", ""],
  ])("throws a BleValueError for %s", (_what, value) => {
    expect(() => decodeRacpResponse(hex(value))).toThrow(expect.objectContaining({ name: "BleValueError" }));
  });

  it("never throws anything else on garbage", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (value) => {
        try {
          decodeRacpResponse(value);
        } catch (error) {
          expect(error).toMatchObject({ name: "BleValueError" });
        }
      }),
    );
  });
});

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
