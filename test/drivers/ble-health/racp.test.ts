/**
 * Record Access Control Point requests and responses, from the layout: RACP is Op Code,
 * Operator, Operand.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeRacpResponse, encodeRacpRequest } from "../../../drivers/ble-health/racp.ts";
import { hex } from "./arbitraries.ts";

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
