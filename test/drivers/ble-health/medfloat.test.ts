/**
 * IEEE 11073-20601 SFLOAT and FLOAT: values worked out by hand from the bit layout (exponent in
 * the top 4 / 8 bits, mantissa in the rest, both two's complement), every special value as "no
 * value" (never 0), and encode/decode round trips over the whole space.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { convertedValue, decodeFloat, decodeSfloat, encodeFloat, encodeSfloat, medValue, type MedFloat } from "../../../drivers/ble-health/medfloat.ts";
import { floatArb, sfloatArb } from "./arbitraries.ts";

describe("SFLOAT", () => {
  it("decodes mantissa and exponent, keeping the precision the device gave", () => {
    // 0x0002 = 2; 0xF014 = 20 × 10^-1 = 2.0; 0xE0C8 = 200 × 10^-2 = 2.00 (the HL7 PHD IG's examples).
    expect(decodeSfloat(0x0002)).toEqual({ mantissa: 2, exponent: 0 });
    expect(decodeSfloat(0xf014)).toEqual({ mantissa: 20, exponent: -1 });
    expect(decodeSfloat(0xe0c8)).toEqual({ mantissa: 200, exponent: -2 });
    expect(medValue(decodeSfloat(0xe0c8))).toBe(2);
    // 0x0078 = 120 (mmHg); 0xF16E = 366 × 10^-1 = 36.6; 0xFF9C: mantissa 0xF9C = -100, exponent -1 → -10.0.
    expect(medValue(decodeSfloat(0x0078))).toBe(120);
    expect(medValue(decodeSfloat(0xf16e))).toBe(36.6);
    expect(medValue(decodeSfloat(0xff9c))).toBe(-10);
    // 0x1002: exponent +1, mantissa 2 → 20; 0x7001: exponent 7 → 10^7.
    expect(medValue(decodeSfloat(0x1002))).toBe(20);
    expect(medValue(decodeSfloat(0x7001))).toBe(10_000_000);
    // 95 × 10^-5 kg/L shifted by 10^5 is exactly 95 mg/dL, not 95.00000000000001.
    expect(medValue(decodeSfloat(0xb05f), 5)).toBe(95);
  });

  it.each([
    [0x07ff, "nan"],
    [0x0800, "nres"],
    [0x07fe, "+inf"],
    [0x0802, "-inf"],
    [0x0801, "reserved"],
  ] as const)("0x%s is the special value %s and has no number", (raw, special) => {
    expect(decodeSfloat(raw)).toEqual({ special });
    expect(medValue(decodeSfloat(raw))).toBeUndefined();
    expect(convertedValue(decodeSfloat(raw), (value) => value * 7.5)).toBeUndefined();
  });

  it("treats the special mantissas with a non-zero exponent as numbers (only exponent 0 is special)", () => {
    // 0x17FF: exponent 1, mantissa 2047 → 20470.
    expect(medValue(decodeSfloat(0x17ff))).toBe(20470);
  });

  it("round-trips every value and never turns a special value into a number", () => {
    fc.assert(
      fc.property(sfloatArb, (value) => {
        expect(decodeSfloat(encodeSfloat(value))).toEqual(value);
        if ("special" in value) expect(medValue(value)).toBeUndefined();
      }),
    );
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), (raw) => {
      expect(encodeSfloat(decodeSfloat(raw))).toBe(raw);
    }));
  });
});

describe("FLOAT", () => {
  it("decodes mantissa and exponent", () => {
    // 0xFF00016E: exponent -1, mantissa 366 → 36.6; 0x00000000 → 0; 0xFEFFFF9C: exponent -2, mantissa -100 → -1.00.
    expect(medValue(decodeFloat(0xff00016e))).toBe(36.6);
    expect(medValue(decodeFloat(0))).toBe(0);
    expect(medValue(decodeFloat(0xfeffff9c))).toBe(-1);
    // 0x02000003: exponent +2 → 300.
    expect(medValue(decodeFloat(0x02000003))).toBe(300);
  });

  it.each([
    [0x007fffff, "nan"],
    [0x00800000, "nres"],
    [0x007ffffe, "+inf"],
    [0x00800002, "-inf"],
    [0x00800001, "reserved"],
  ] as const)("0x%s is the special value %s and has no number", (raw, special) => {
    expect(decodeFloat(raw)).toEqual({ special });
    expect(medValue(decodeFloat(raw))).toBeUndefined();
  });

  it("round-trips every value", () => {
    fc.assert(fc.property(floatArb, (value: MedFloat) => {
      expect(decodeFloat(encodeFloat(value))).toEqual(value);
    }));
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (raw) => {
      expect(encodeFloat(decodeFloat(raw))).toBe(raw);
    }));
  });
});

describe("converted values", () => {
  it("round to one decimal more than the device gave", () => {
    // 98.6 °F = 37 °C exactly; 16.0 kPa = 120.0099… mmHg → 120.01.
    expect(convertedValue({ mantissa: 986, exponent: -1 }, (f) => ((f - 32) * 5) / 9)).toBe(37);
    expect(convertedValue({ mantissa: 160, exponent: -1 }, (kpa) => (kpa * 1000) / 133.322387415)).toBe(120.01);
  });
});
