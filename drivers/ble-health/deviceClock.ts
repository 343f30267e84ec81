/**
 * A device's clock against the box's. Bluetooth health devices keep local wall-clock time with no
 * zone (Date Time, GSS), so the comparison needs the site's offset from UTC. The offset is best
 * measured from the Current Time characteristic (0x2A2B) read off the device (`decodeCurrentTime`),
 * which says what its clock reads at that moment; a measurement's own timestamp says when it was
 * taken, which for a stored record or a cuff's 40-second inflation is not "now". The caller takes
 * the offset once per connection and applies it to that connection's readings.
 */
import type { DeviceReading } from "../core/types.ts";
import type { DateTime } from "./dateTime.ts";

/** Issue 18: a reading whose device clock is off by more than 5 s is flagged. */
export const DEVICE_CLOCK_TOLERANCE_MS = 5_000;

export interface BoxClock {
  /** When the device's time was read, by the box's (NTP-disciplined) clock. */
  now: Date;
  /** Minutes to add to UTC for the site's wall clock (what the device is set to). */
  utcOffsetMinutes: number;
}

/**
 * The device's clock minus the box's in milliseconds (positive: the device is ahead), from a
 * Date Time the device gave as its current time (plus Fractions256 when it came from Current
 * Time); undefined when the device does not know the date (a zero year, month or day) or the date
 * does not exist.
 */
export function deviceClockOffsetMs(deviceTime: DateTime, clock: BoxClock, fractions256 = 0): number | undefined {
  const { year, month, day, hours, minutes, seconds } = deviceTime;
  if (year === 0 || month === 0 || day === 0) return undefined;
  const moment = new Date(0);
  moment.setUTCFullYear(year, month - 1, day);
  moment.setUTCHours(hours, minutes, seconds, 0);
  if (moment.getUTCDate() !== day) return undefined;
  // Fractions256: 1/256 s steps (GSS, Exact Time 256).
  const deviceUtc = moment.getTime() + (fractions256 * 1000) / 256 - clock.utcOffsetMinutes * 60_000;
  return Math.round(deviceUtc - clock.now.getTime());
}

/**
 * The reading with the device's clock offset reported (`deviceClockOffsetMs`) and, beyond the
 * tolerance either way, the flag `device-clock-offset`; unchanged when the offset is unknown.
 */
export function withDeviceClockOffset(reading: DeviceReading, offsetMs: number | undefined, toleranceMs = DEVICE_CLOCK_TOLERANCE_MS): DeviceReading {
  if (offsetMs === undefined) return reading;
  const off = Math.abs(offsetMs) > toleranceMs && !reading.flags.includes("device-clock-offset");
  return { ...reading, deviceClockOffsetMs: offsetMs, flags: off ? [...reading.flags, "device-clock-offset"] : reading.flags };
}

/**
 * Minutes to add to UTC for the wall clock of an IANA time zone at a moment (DST included), for
 * `BoxClock.utcOffsetMinutes` and `encodeCurrentTime`. Throws RangeError for an unknown zone.
 */
export function zoneOffsetMinutes(timeZone: string, at: Date): number {
  const format = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
  const parts = new Map(format.formatToParts(at).map((part) => [part.type, Number(part.value)]));
  const field = (type: Intl.DateTimeFormatPartTypes) => parts.get(type) ?? 0;
  const wall = new Date(0);
  wall.setUTCFullYear(field("year"), field("month") - 1, field("day"));
  wall.setUTCHours(field("hour"), field("minute"), field("second"), 0);
  return Math.round((wall.getTime() - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}
