import { describe, expect, it } from "vitest";
import { watchdogIntervalMs } from "../../../agent/systemd/notify.ts";

describe("watchdogIntervalMs", () => {
  it("pings at half of WATCHDOG_USEC", () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }, 1)).toBe(15_000);
  });

  it("is off without WATCHDOG_USEC or when WATCHDOG_PID names another process", () => {
    expect(watchdogIntervalMs({}, 1)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "2" }, 1)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "1" }, 1)).toBe(15_000);
  });
});
