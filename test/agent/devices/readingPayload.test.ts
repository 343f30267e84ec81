/** The published reading carries the device clock's offset where a driver measured it, and nothing where none did. */
import { describe, expect, it } from "vitest";
import { readingPayload } from "../../../agent/devices/readingPayload.ts";

const STAMP = { id: "r1", seq: 7, peripheral: "cuff", driver: "ble-health", receivedAt: new Date("2026-12-03T09:56:40.500Z") };

describe("a published reading", () => {
  it("carries deviceClockOffsetMs beside the device's time", () => {
    const payload = readingPayload({ kind: "spot", observations: [], flags: ["device-clock-offset"], deviceTime: "2026-12-03T10:58:00", deviceClockOffsetMs: 79_500 }, STAMP);
    expect(payload).toMatchObject({ time: "2026-12-03T10:58:00", deviceClockOffsetMs: 79_500, flags: ["device-clock-offset"] });
  });

  it("has no such key when the offset was not measured", () => {
    expect(readingPayload({ kind: "spot", observations: [], flags: [] }, STAMP)).not.toHaveProperty("deviceClockOffsetMs");
  });
});
