/**
 * Date Time (org.bluetooth.characteristic.date_time, 0x2A08; GSS): year uint16 (1582–9999,
 * 0 = not known), month (1–12, 0 = not known), day (1–31, 0 = not known), hours (0–23), minutes
 * (0–59), seconds (0–59): 7 octets, the device's local time with no zone. Current Time (0x2A2B,
 * GSS) is Exact Time 256 — a Date Time, Day of Week (1 = Monday … 7 = Sunday, 0 = not known)
 * and Fractions256 — followed by Adjust Reason: 10 octets.
 */
import { BleValueError, FieldReader, FieldWriter } from "./fields.ts";

export interface DateTime {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export const DATE_TIME_LENGTH = 7;

/** The Date Time at the reader; a field outside its range is not one the specification allows. */
export function readDateTime(reader: FieldReader): DateTime {
  const dateTime = { year: reader.u16(), month: reader.u8(), day: reader.u8(), hours: reader.u8(), minutes: reader.u8(), seconds: reader.u8() };
  const { year, month, day, hours, minutes, seconds } = dateTime;
  if ((year !== 0 && (year < 1582 || year > 9999)) || month > 12 || day > 31 || hours > 23 || minutes > 59 || seconds > 59) {
    throw new BleValueError("invalid-field", `Date Time ${year}-${month}-${day} ${hours}:${minutes}:${seconds} is out of range`);
  }
  return dateTime;
}

export function writeDateTime(writer: FieldWriter, dateTime: DateTime): FieldWriter {
  return writer.u16(dateTime.year).u8(dateTime.month).u8(dateTime.day).u8(dateTime.hours).u8(dateTime.minutes).u8(dateTime.seconds);
}

const pad = (value: number, width = 2) => String(value).padStart(width, "0");

/**
 * The Date Time as ISO 8601 without a zone (as `deviceTime` is documented), moved by
 * `offsetMinutes` (Glucose's Time Offset); undefined when the device does not know the date.
 */
export function isoDeviceTime(dateTime: DateTime, offsetMinutes = 0): string | undefined {
  const { year, month, day, hours, minutes, seconds } = dateTime;
  if (year === 0 || month === 0 || day === 0) return undefined;
  // Date.UTC only as a calendar: the device's wall clock moved by whole minutes, no zone involved.
  const moment = new Date(0);
  moment.setUTCFullYear(year, month - 1, day);
  moment.setUTCHours(hours, minutes, seconds, 0);
  // A day beyond the month's end (31 April) is not a date the device can have meant.
  if (moment.getUTCDate() !== day) return undefined;
  moment.setTime(moment.getTime() + offsetMinutes * 60_000);
  return `${pad(moment.getUTCFullYear(), 4)}-${pad(moment.getUTCMonth() + 1)}-${pad(moment.getUTCDate())}T${pad(moment.getUTCHours())}:${pad(moment.getUTCMinutes())}:${pad(moment.getUTCSeconds())}`;
}

/** Adjust Reason bits (GSS, Adjust Reason): why the time is being set. */
export const ADJUST_REASON = { MANUAL: 0x01, EXTERNAL_REFERENCE: 0x02, TIME_ZONE: 0x04, DST: 0x08 } as const;

export interface CurrentTimeOptions {
  /** The box's clock. */
  now: Date;
  /** Minutes to add to UTC for the device's wall clock (the site's zone; devices keep local time). */
  utcOffsetMinutes: number;
  /** ADJUST_REASON bits; the box sets the time from its NTP-disciplined clock: EXTERNAL_REFERENCE. */
  adjustReason?: number;
}

/** The 10-octet Current Time value that sets a device's clock through the Current Time Service. */
export function encodeCurrentTime(options: CurrentTimeOptions): Uint8Array {
  const local = new Date(options.now.getTime() + options.utcOffsetMinutes * 60_000);
  const dateTime: DateTime = {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hours: local.getUTCHours(),
    minutes: local.getUTCMinutes(),
    seconds: local.getUTCSeconds(),
  };
  // getUTCDay: 0 = Sunday; Day of Week: 1 = Monday … 7 = Sunday.
  const dayOfWeek = local.getUTCDay() === 0 ? 7 : local.getUTCDay();
  const fractions256 = Math.floor((local.getUTCMilliseconds() * 256) / 1000);
  return writeDateTime(new FieldWriter(), dateTime)
    .u8(dayOfWeek)
    .u8(fractions256)
    .u8(options.adjustReason ?? ADJUST_REASON.EXTERNAL_REFERENCE)
    .toBytes();
}

/** A Current Time value (0x2A2B) as a device reports it when read. */
export interface CurrentTime {
  dateTime: DateTime;
  /** 1 = Monday … 7 = Sunday, 0 = not known. */
  dayOfWeek: number;
  /** 1/256 s. */
  fractions256: number;
  /** ADJUST_REASON bits. */
  adjustReason: number;
}

/** The Current Time read off a device; a value that is not 10 octets or has a field out of range throws BleValueError. */
export function decodeCurrentTime(value: Uint8Array): CurrentTime {
  const reader = new FieldReader(value);
  const dateTime = readDateTime(reader);
  const current = { dateTime, dayOfWeek: reader.u8(), fractions256: reader.u8(), adjustReason: reader.u8() };
  if (current.dayOfWeek > 7) throw new BleValueError("invalid-field", `Current Time: day of week ${current.dayOfWeek} is reserved`);
  if (reader.remaining !== 0) throw new BleValueError("length-mismatch", `Current Time: ${value.length} octets, expected 10`);
  return current;
}
