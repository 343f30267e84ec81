/** Bytes written by hand, and fast-check arbitraries for valid values (the round-trip properties' inputs). */
import fc from "fast-check";
import type { DateTime } from "../../../drivers/ble-health/dateTime.ts";
import type { MedFloat, SpecialValue } from "../../../drivers/ble-health/medfloat.ts";

const specialArb = fc.constantFrom<SpecialValue>("nan", "nres", "+inf", "-inf", "reserved").map((special): MedFloat => ({ special }));

/** Mantissas that, with exponent 0, spell a special value: 2^(n-1) - 1, - 2, and -2^(n-1) … +2. */
const reservedMantissas = (bits: number) => {
  const top = 2 ** (bits - 1);
  return new Set([top - 1, top - 2, -top, -top + 1, -top + 2]);
};

const numberArb = (mantissaBits: number, exponentBits: number) => {
  const reserved = reservedMantissas(mantissaBits);
  return fc
    .record({
      mantissa: fc.integer({ min: -(2 ** (mantissaBits - 1)), max: 2 ** (mantissaBits - 1) - 1 }),
      exponent: fc.integer({ min: -(2 ** (exponentBits - 1)), max: 2 ** (exponentBits - 1) - 1 }),
    })
    .filter(({ mantissa, exponent }) => exponent !== 0 || !reserved.has(mantissa));
};

export const sfloatArb: fc.Arbitrary<MedFloat> = fc.oneof(numberArb(12, 4), specialArb);
export const floatArb: fc.Arbitrary<MedFloat> = fc.oneof(numberArb(24, 8), specialArb);

export const dateTimeArb: fc.Arbitrary<DateTime> = fc.record({
  year: fc.oneof(fc.constant(0), fc.integer({ min: 1582, max: 9999 })),
  month: fc.integer({ min: 0, max: 12 }),
  day: fc.integer({ min: 0, max: 31 }),
  hours: fc.integer({ min: 0, max: 23 }),
  minutes: fc.integer({ min: 0, max: 59 }),
  seconds: fc.integer({ min: 0, max: 59 }),
});

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u24 = fc.integer({ min: 0, max: 0xffffff });

/** "1E 78 00" → bytes. */
export const hex = (text: string) => Uint8Array.from(text.trim().split(/\s+/).filter(Boolean), (byte) => Number.parseInt(byte, 16));

/** 2026-11-23 14:05:30 as a Date Time: year 2026 = 0x07EA little-endian, then month … seconds. */
export const STAMP = "EA 07 0B 17 0E 05 1E";
