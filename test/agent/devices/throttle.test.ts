import { describe, expect, it } from "vitest";
import { ReadingThrottle } from "../../../agent/devices/throttle.ts";
import type { DeviceReading, ReadingFlag } from "../../../drivers/types.ts";

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

  it("lets every spot reading through", () => {
    const throttle = new ReadingThrottle(1);
    const spot: DeviceReading = { kind: "spot", observations: [], flags: [] };
    expect([throttle.offer(spot, 0), throttle.offer(spot, 1)]).toEqual([spot, spot]);
  });
});
