/**
 * What every measurement characteristic shares: a Flags field first, whose bits decide which
 * fields follow. From the flags the value's exact length is known, so a value that is shorter
 * (truncated) or longer (fields the flags say are absent) than that, or has reserved flag bits
 * set, breaks the specification — unless a quirk for the device says that is how it behaves.
 */
import { BleValueError, FieldReader } from "./fields.ts";
import type { QuirkId } from "./quirks.ts";
import { DATE_TIME_LENGTH } from "./dateTime.ts";
import { observation, type ObservationType, type TypedObservation } from "../core/observations.ts";

export interface MeasurementLayout<Measurement> {
  /** Characteristic name, for discard reasons. */
  name: string;
  /** Flag bits the specification reserves for future use (RFU). */
  reservedFlags: number;
  /**
   * Fields a quirk says the device sends although their flag is clear (`timestamp-despite-flag`,
   * `user-id-despite-flag`): taken as present only when the value is longer by exactly their size.
   */
  impliedFields?: ReadonlyArray<{ quirk: QuirkId; flag: number; octets: number }>;
  /** The value's length, Flags field included, that the flags call for. */
  length(flags: number): number;
  /** The fields after the Flags field; `quirks` for the bends a layout handles itself (byte order of one field). */
  read(reader: FieldReader, flags: number, quirks: readonly QuirkId[]): Measurement;
}

export function decodeWithLayout<Measurement>(layout: MeasurementLayout<Measurement>, value: Uint8Array, quirks: readonly QuirkId[]): Measurement {
  const reader = new FieldReader(value, { bigEndianSfloat: quirks.includes("big-endian-sfloat") });
  let flags = reader.u8();
  if ((flags & layout.reservedFlags) !== 0) {
    if (!quirks.includes("ignore-reserved-flags")) {
      throw new BleValueError("reserved-flags", `${layout.name}: reserved flag bits 0x${(flags & layout.reservedFlags).toString(16).padStart(2, "0")} set`);
    }
    flags &= ~layout.reservedFlags;
  }
  let expected = layout.length(flags);
  for (const field of layout.impliedFields ?? []) {
    if ((flags & field.flag) === 0 && value.length === expected + field.octets && quirks.includes(field.quirk)) {
      flags |= field.flag;
      expected += field.octets;
    }
  }
  if (value.length < expected) throw new BleValueError("truncated", `${layout.name}: ${value.length} byte(s), the flags call for ${expected}`);
  if (value.length > expected) throw new BleValueError("length-mismatch", `${layout.name}: ${value.length} byte(s), the flags call for ${expected}`);
  return layout.read(reader, flags, quirks);
}

/** Length of the optional fields whose flags are set: [flag, octets] pairs. */
export function optionalLength(flags: number, fields: ReadonlyArray<readonly [number, number]>): number {
  return fields.reduce((sum, [flag, octets]) => sum + ((flags & flag) !== 0 ? octets : 0), 0);
}

/** The quirk `timestamp-despite-flag` for a layout whose Date Time hangs on `flag`. */
export const impliedTimestamp = (flag: number) => ({ quirk: "timestamp-despite-flag" as const, flag, octets: DATE_TIME_LENGTH });

/**
 * Observations for the numbers a measurement carries (undefined: absent or a special value, left
 * out). A number outside its observation's possible range is no reading but a value decoded
 * wrongly — a byte order the device swapped, a field it shifted — so the whole value is
 * discarded and counted (BleValueError "implausible-value") rather than published in part.
 */
export function plausibleObservations(name: string, values: ReadonlyArray<readonly [ObservationType, number | undefined]>): TypedObservation[] {
  return values.flatMap(([type, value]) => {
    if (value === undefined) return [];
    const found = observation(type, value);
    if (!found) throw new BleValueError("implausible-value", `${name}: ${type} ${value} is outside its possible range`);
    return [found];
  });
}
