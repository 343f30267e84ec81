import { describe, expect, it } from "vitest";
import { ReadingThrottle } from "../../../agent/devices/throttle.ts";
import type { DeviceReading, ReadingFlag } from "../../../drivers/core/types.ts";

const continuous = (value: number, flags: ReadingFlag[] = []): DeviceReading => ({
  kind: "continuous",
  observations: [{ type: "spo2", value, unit: "%", loinc: "59408-5" }],
  flags,
});

describe("ReadingThrottle", () => {
  it("publishes a continuous device at most rateHz, the latest values each time", () => {
    const throttle = new ReadingThrottle(1);
    const published = [0, 333, 666, 1000, 1333, 2000].map((at, i) => throttle.offer(continuous(90 + i), at)?.observations[0]?.value);
    expect(published).toEqual([90, undefined, undefined, 93, undefined, 95]);
  });

  it("carries flags seen in held-back readings into the next published one", () => {
    const throttle = new ReadingThrottle(1);
    throttle.offer(continuous(97), 0);
    throttle.offer(continuous(97, ["artifact"]), 300);
    expect(throttle.offer(continuous(97), 1000)?.flags).toEqual(["artifact"]);
    expect(throttle.offer(continuous(97), 2000)?.flags).toEqual([]);
  });

  it("publishes the latest held-back reading with the flags held, once the device has been silent for an interval", () => {
    const throttle = new ReadingThrottle(1);
    expect(throttle.offer(continuous(90), 0)?.observations[0]?.value).toBe(90);
    expect(throttle.pendingDueAt()).toBeUndefined();
    throttle.offer(continuous(91, ["sensor-off"]), 200);
    throttle.offer(continuous(92), 400);
    expect(throttle.pendingDueAt()).toBe(1400);
    expect(throttle.takeDue(1399)).toBeUndefined();
    const due = throttle.takeDue(1400);
    expect(due?.reading.observations[0]?.value).toBe(92);
    expect(due?.reading.flags).toEqual(["sensor-off"]);
    expect(due?.receivedAt.getTime()).toBe(400);
    expect(throttle.pendingDueAt()).toBeUndefined();
    expect(throttle.takeDue(5000)).toBeUndefined();
  });

  it("leaves a steady stream as it was: a later reading replaces the pending one or goes out itself", () => {
    const throttle = new ReadingThrottle(2);
    const published = [0, 333, 666, 1000, 1333].map((at, i) => throttle.offer(continuous(90 + i), at)?.observations[0]?.value);
    expect(published).toEqual([90, undefined, 92, undefined, 94]);
    expect(throttle.pendingDueAt()).toBeUndefined();
  });

  it("gives its held-back reading with held flags up at once when forced (the peripheral stops)", () => {
    const throttle = new ReadingThrottle(1);
    throttle.offer(continuous(90), 0);
    throttle.offer(continuous(93, ["artifact"]), 100);
    expect(throttle.takeDue(150, true)?.reading).toMatchObject({ flags: ["artifact"], observations: [{ value: 93 }] });
  });

  it("holds nothing due when no flag was held: the rate stays the rate", () => {
    const throttle = new ReadingThrottle(1);
    throttle.offer(continuous(90), 0);
    throttle.offer(continuous(93), 100);
    expect(throttle.pendingDueAt()).toBeUndefined();
    expect(throttle.takeDue(5000)).toBeUndefined();
    expect(throttle.takeDue(150, true)).toBeUndefined();
  });

  it("lets every spot reading through", () => {
    const throttle = new ReadingThrottle(1);
    const spot: DeviceReading = { kind: "spot", observations: [], flags: [] };
    expect([throttle.offer(spot, 0), throttle.offer(spot, 1)]).toEqual([spot, spot]);
  });
});
