/**
 * IEEE 11073-20601 "medical" floats as Bluetooth health services carry them (GATT Specification
 * Supplement, "medfloat16"/"medfloat32"; IEEE 11073-20601 Annex F): a signed base-10 exponent and a signed mantissa,
 * value = mantissa × 10^exponent. SFLOAT is 16 bits (exponent in the top 4 bits, mantissa in the
 * low 12); FLOAT is 32 bits (exponent in the top 8, mantissa in the low 24). Five raw values are
 * not numbers: NaN, NRes (not at this resolution), ±INFINITY and one reserved value. None of them
 * is ever turned into a number: a caller gets `undefined` and leaves the observation out.
 */

export type SpecialValue = "nan" | "nres" | "+inf" | "-inf" | "reserved";

/** A decoded medfloat: the number as sent (mantissa and exponent keep its precision), or why there is none. */
export type MedFloat = { mantissa: number; exponent: number } | { special: SpecialValue };

/** Raw special values (all with exponent 0), as IEEE 11073-20601 and the GSS list them. */
const SFLOAT_SPECIAL = new Map<number, SpecialValue>([
  [0x07ff, "nan"],
  [0x0800, "nres"],
  [0x07fe, "+inf"],
  [0x0802, "-inf"],
  [0x0801, "reserved"],
]);
const FLOAT_SPECIAL = new Map<number, SpecialValue>([
  [0x007fffff, "nan"],
  [0x00800000, "nres"],
  [0x007ffffe, "+inf"],
  [0x00800002, "-inf"],
  [0x00800001, "reserved"],
]);

const signed = (value: number, bits: number) => (value >= 2 ** (bits - 1) ? value - 2 ** bits : value);

/** A 16-bit SFLOAT, already assembled from its two bytes. */
export function decodeSfloat(raw: number): MedFloat {
  const special = SFLOAT_SPECIAL.get(raw & 0xffff);
  if (special) return { special };
  return { mantissa: signed(raw & 0x0fff, 12), exponent: signed((raw >> 12) & 0x0f, 4) };
}

/** A 32-bit FLOAT, already assembled from its four bytes. */
export function decodeFloat(raw: number): MedFloat {
  const special = FLOAT_SPECIAL.get(raw >>> 0);
  if (special) return { special };
  return { mantissa: signed(raw & 0x00ffffff, 24), exponent: signed((raw >>> 24) & 0xff, 8) };
}

const SFLOAT_RAW = new Map([...SFLOAT_SPECIAL].map(([raw, special]) => [special, raw]));
const FLOAT_RAW = new Map([...FLOAT_SPECIAL].map(([raw, special]) => [special, raw]));

/** The 16 bits of an SFLOAT (the simulator's and tests' side); the mantissa must fit 12 bits. */
export function encodeSfloat(value: MedFloat): number {
  if ("special" in value) return SFLOAT_RAW.get(value.special) ?? 0x07ff;
  return (((value.exponent & 0x0f) << 12) | (value.mantissa & 0x0fff)) & 0xffff;
}

/** The 32 bits of a FLOAT; the mantissa must fit 24 bits. */
export function encodeFloat(value: MedFloat): number {
  if ("special" in value) return FLOAT_RAW.get(value.special) ?? 0x007fffff;
  return (((value.exponent & 0xff) << 24) | (value.mantissa & 0x00ffffff)) >>> 0;
}

/**
 * The number a medfloat stands for, with its exponent shifted by `shift` (a unit change by a
 * power of ten: kg/L → mg/dL is +5), or undefined for every special value. Dividing an integer
 * by an exact power of ten rounds once, so 95 × 10^-5 reads back as 0.00095, not 0.00095000000000001.
 */
export function medValue(value: MedFloat, shift = 0): number | undefined {
  if ("special" in value) return undefined;
  const exponent = value.exponent + shift;
  return exponent >= 0 ? value.mantissa * 10 ** exponent : value.mantissa / 10 ** -exponent;
}

/**
 * A medfloat converted by a factor that is not a power of ten (kPa → mmHg, °F → °C), rounded to
 * one decimal more than the device gave, so a conversion neither invents nor hides precision.
 */
export function convertedValue(value: MedFloat, convert: (value: number) => number): number | undefined {
  const plain = medValue(value);
  if (plain === undefined || "special" in value) return undefined;
  const decimals = Math.min(Math.max(0, -value.exponent) + 1, 6);
  return Number(convert(plain).toFixed(decimals));
}
