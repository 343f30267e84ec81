/**
 * A device's clock against the box's: Current Time (0x2A2B) read off a device, the offset it
 * gives (the device keeps local time, so the site's zone is needed), the flag beyond 5 s.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCurrentTime, encodeCurrentTime } from "../../../drivers/ble-health/dateTime.ts";
import { deviceClockOffsetMs, withDeviceClockOffset, zoneOffsetMinutes } from "../../../drivers/ble-health/deviceClock.ts";
import type { DeviceReading } from "../../../drivers/core/types.ts";
import { hex } from "./arbitraries.ts";

const NOW = new Date("2026-12-03T09:56:40.500Z");
/** The site at UTC+1: the device's wall clock reads 10:56:40.5 when it is right. */
const CLOCK = { now: NOW, utcOffsetMinutes: 60 };
const READING: DeviceReading = { kind: "spot", observations: [], flags: ["irregular-pulse"] };

describe("Current Time read off a device", () => {
  it("decodes Exact Time 256 and Adjust Reason", () => {
    // 2026-12-03 10:56:45, Thursday (4), 0x40/256 s, adjust reason 0x01 (manual).
    expect(decodeCurrentTime(hex("EA 07 0C 03 0A 38 2D 04 40 01"))).toEqual({
      dateTime: { year: 2026, month: 12, day: 3, hours: 10, minutes: 56, seconds: 45 },
      dayOfWeek: 4,
      fractions256: 0x40,
      adjustReason: 0x01,
    });
  });

  it("reads back what encodeCurrentTime writes", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("1990-01-01T00:00:00Z"), max: new Date("2090-01-01T00:00:00Z"), noInvalidDate: true }), fc.integer({ min: -720, max: 840 }), (now, offset) => {
        const current = decodeCurrentTime(encodeCurrentTime({ now, utcOffsetMinutes: offset }));
        const offsetMs = deviceClockOffsetMs(current.dateTime, { now, utcOffsetMinutes: offset }, current.fractions256);
        // Fractions256 truncates to 1/256 s: the device set this way is less than 3.91 ms behind (rounded: 4).
        expect(offsetMs).toBeLessThanOrEqual(0);
        expect(offsetMs).toBeGreaterThanOrEqual(-4);
      }),
    );
  });

  it.each([
    ["9 octets", "EA 07 0C 03 0A 38 2D 04 40"],
    ["11 octets", "EA 07 0C 03 0A 38 2D 04 40 01 00"],
    ["a reserved day of week (8)", "EA 07 0C 03 0A 38 2D 08 40 01"],
    ["hour 24", "EA 07 0C 03 18 38 2D 04 40 01"],
  ])("throws a BleValueError for %s", (_what, value) => {
    expect(() => decodeCurrentTime(hex(value))).toThrow(expect.objectContaining({ name: "BleValueError" }));
  });
});

describe("the device clock's offset", () => {
  it("is the device's wall clock, in the site's zone, minus the box's clock", () => {
    const current = decodeCurrentTime(hex("EA 07 0C 03 0A 38 2D 04 00 01"));
    expect(deviceClockOffsetMs(current.dateTime, CLOCK)).toBe(4_500);
    // 0x80/256 s = 500 ms more.
    expect(deviceClockOffsetMs(current.dateTime, CLOCK, 0x80)).toBe(5_000);
    // A device an hour behind: still on UTC although the site is at UTC+1.
    expect(deviceClockOffsetMs({ year: 2026, month: 12, day: 3, hours: 9, minutes: 56, seconds: 40 }, CLOCK)).toBe(-3_600_500);
  });

  it("is unknown when the device does not know the date or gives one that does not exist", () => {
    expect(deviceClockOffsetMs({ year: 0, month: 12, day: 3, hours: 10, minutes: 0, seconds: 0 }, CLOCK)).toBeUndefined();
    expect(deviceClockOffsetMs({ year: 2026, month: 2, day: 30, hours: 10, minutes: 0, seconds: 0 }, CLOCK)).toBeUndefined();
  });
});

describe("a reading with the device clock's offset", () => {
  it("reports the offset, and flags device-clock-offset beyond 5 s either way", () => {
    expect(withDeviceClockOffset(READING, 5_000)).toEqual({ ...READING, deviceClockOffsetMs: 5_000 });
    expect(withDeviceClockOffset(READING, 5_001)).toEqual({ ...READING, deviceClockOffsetMs: 5_001, flags: ["irregular-pulse", "device-clock-offset"] });
    expect(withDeviceClockOffset(READING, -3_600_500).flags).toEqual(["irregular-pulse", "device-clock-offset"]);
    expect(withDeviceClockOffset(READING, -5_000).flags).toEqual(["irregular-pulse"]);
  });

  it("is left as it was when the offset is unknown, and is not flagged twice", () => {
    expect(withDeviceClockOffset(READING, undefined)).toBe(READING);
    const flagged = withDeviceClockOffset(READING, 9_000);
    expect(withDeviceClockOffset(flagged, 9_000).flags).toEqual(["irregular-pulse", "device-clock-offset"]);
  });
});

describe("a site's zone", () => {
  it("gives the offset from UTC at that moment, DST included", () => {
    expect(zoneOffsetMinutes("Asia/Ho_Chi_Minh", NOW)).toBe(420);
    expect(zoneOffsetMinutes("Europe/Berlin", new Date("2026-01-15T12:00:00Z"))).toBe(60);
    expect(zoneOffsetMinutes("Europe/Berlin", new Date("2026-07-15T12:00:00Z"))).toBe(120);
    expect(zoneOffsetMinutes("America/St_Johns", new Date("2026-01-15T12:00:00Z"))).toBe(-210);
    expect(zoneOffsetMinutes("UTC", NOW)).toBe(0);
    expect(() => zoneOffsetMinutes("Mars/Olympus", NOW)).toThrow(RangeError);
  });
});
