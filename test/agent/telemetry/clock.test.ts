import { describe, expect, it } from "vitest";
import { parseNtpSynchronized, readClockSynchronized } from "../../../agent/telemetry/clock.ts";

describe("clock synchronisation", () => {
  it("reads timedatectl's answer", () => {
    expect(parseNtpSynchronized("yes\n")).toBe(true);
    expect(parseNtpSynchronized("no\n")).toBe(false);
    expect(parseNtpSynchronized(undefined)).toBeNull();
    expect(parseNtpSynchronized("Failed to connect to bus")).toBeNull();
  });

  it("trusts timesyncd's flag file first, then timedated, else says it cannot tell", async () => {
    const noFlag = "/nonexistent/synchronized";
    expect(await readClockSynchronized({ timesyncdFlag: import.meta.filename, timedatectl: async () => "no" })).toBe(true);
    expect(await readClockSynchronized({ timesyncdFlag: noFlag, timedatectl: async () => "no" })).toBe(false);
    expect(await readClockSynchronized({ timesyncdFlag: noFlag, timedatectl: async () => undefined })).toBeNull();
  });
});
