/** Maintenance windows in local time, including one that spans midnight. */
import { describe, expect, it } from "vitest";
import { inMaintenanceWindow } from "../../../agent/update/window.ts";

const at = (hours: number, minutes: number) => new Date(2026, 10, 23, hours, minutes);

describe("inMaintenanceWindow", () => {
  it("is inside from the start up to (not including) the end", () => {
    const window = { start: "02:00", end: "05:00" };
    expect([at(1, 59), at(2, 0), at(4, 59), at(5, 0)].map((time) => inMaintenanceWindow(window, time))).toEqual([false, true, true, false]);
  });

  it("spans midnight when the end comes before the start, and is never inside without a window", () => {
    const window = { start: "22:30", end: "01:15" };
    expect([at(22, 29), at(23, 0), at(0, 30), at(1, 15)].map((time) => inMaintenanceWindow(window, time))).toEqual([false, true, true, false]);
    expect(inMaintenanceWindow(undefined, at(3, 0))).toBe(false);
  });
});
