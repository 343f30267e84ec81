/**
 * GATT characteristic fields: little-endian multi-octet values (GSS, "multi-octet fields are
 * little-endian"), the big-endian SFLOAT quirk, and a value shorter than its fields answered with
 * a "truncated" BleValueError (which the decoder counts as a discard), never a made-up number.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BleValueError, FieldReader, FieldWriter } from "../../../drivers/ble-health/fields.ts";
import { floatArb, sfloatArb, u16, u24, u8 } from "./arbitraries.ts";

describe("FieldReader", () => {
  it("reads multi-octet fields low byte first, and a signed 16-bit value", () => {
    const reader = new FieldReader(Uint8Array.from([0x2a, 0x34, 0x12, 0x56, 0x34, 0x12, 0xfe, 0xff]));
    expect(reader.u8()).toBe(0x2a);
    expect(reader.u16()).toBe(0x1234);
    expect(reader.u24()).toBe(0x123456);
    expect(reader.s16()).toBe(-2);
    expect(reader.remaining).toBe(0);
  });

  it("reads an SFLOAT high byte first for a device with the big-endian quirk", () => {
    // 0xF06E: exponent -1, mantissa 0x06E = 110 → 11.0
    expect(new FieldReader(Uint8Array.from([0x6e, 0xf0])).sfloat()).toEqual({ mantissa: 110, exponent: -1 });
    expect(new FieldReader(Uint8Array.from([0xf0, 0x6e]), { bigEndianSfloat: true }).sfloat()).toEqual({ mantissa: 110, exponent: -1 });
  });

  it("throws a truncated BleValueError, naming where, when a value ends inside a field", () => {
    const reader = new FieldReader(Uint8Array.from([0x01, 0x02, 0x03]));
    reader.u16();
    let thrown: unknown;
    try {
      reader.u16();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BleValueError);
    expect(thrown).toMatchObject({ code: "truncated", message: "value ends 1 byte(s) short at offset 2" });
    expect(reader.remaining).toBe(1); // nothing was consumed by the failed read
  });
});

describe("FieldWriter and FieldReader", () => {
  it("read back every value written, field by field", () => {
    fc.assert(
      fc.property(u8, u16, u24, sfloatArb, floatArb, (a, b, c, sfloat, float) => {
        const bytes = new FieldWriter().u8(a).u16(b).u24(c).sfloat(sfloat).float(float).toBytes();
        expect(bytes).toHaveLength(1 + 2 + 3 + 2 + 4);
        const reader = new FieldReader(bytes);
        expect([reader.u8(), reader.u16(), reader.u24(), reader.sfloat(), reader.float()]).toEqual([a, b, c, sfloat, float]);
      }),
    );
  });
});
