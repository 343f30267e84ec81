/**
 * What every measurement characteristic shares: a Flags field first, whose bits decide which
 * fields follow. From the flags the value's exact length is known, so a value that is shorter
 * (truncated) or longer (fields the flags say are absent) than that, or has reserved flag bits
 * set, breaks the specification — unless a quirk for the device says that is how it behaves.
 */
import { BleValueError, FieldReader } from "./fields.ts";
import type { QuirkId } from "./quirks.ts";
import { DATE_TIME_LENGTH } from "./dateTime.ts";

export interface MeasurementLayout<Measurement> {
  /** Characteristic name, for discard reasons. */
  name: string;
  /** Flag bits the specification reserves for future use (RFU). */
  reservedFlags: number;
  /** The flag that announces a Date Time, for the quirk `timestamp-despite-flag`. */
  timestampFlag?: number;
  /** The value's length, Flags field included, that the flags call for. */
  length(flags: number): number;
  /** The fields after the Flags field. */
  read(reader: FieldReader, flags: number): Measurement;
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
  const timestamp = layout.timestampFlag ?? 0;
  if (timestamp !== 0 && (flags & timestamp) === 0 && value.length === expected + DATE_TIME_LENGTH && quirks.includes("timestamp-despite-flag")) {
    flags |= timestamp;
    expected += DATE_TIME_LENGTH;
  }
  if (value.length < expected) throw new BleValueError("truncated", `${layout.name}: ${value.length} byte(s), the flags call for ${expected}`);
  if (value.length > expected) throw new BleValueError("length-mismatch", `${layout.name}: ${value.length} byte(s), the flags call for ${expected}`);
  return layout.read(reader, flags);
}

/** Length of the optional fields whose flags are set: [flag, octets] pairs. */
export function optionalLength(flags: number, fields: ReadonlyArray<readonly [number, number]>): number {
  return fields.reduce((sum, [flag, octets]) => sum + ((flags & flag) !== 0 ? octets : 0), 0);
}
