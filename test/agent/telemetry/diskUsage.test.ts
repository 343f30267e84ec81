import { describe, expect, it } from "vitest";
import { DiskUsageWatch } from "../../../agent/telemetry/diskUsage.ts";

describe("DiskUsageWatch", () => {
  it("warns once past 80 % and again only after the disk went below 75 %", () => {
    const watch = new DiskUsageWatch();
    expect([70, 81, 90, 78, 85, 74, 80].map((percent) => watch.check(percent))).toEqual([false, true, false, false, false, false, true]);
  });
});
