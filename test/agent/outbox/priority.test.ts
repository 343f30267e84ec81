/** The outbox's priorities: when it is full, health telemetry is dropped first and clinical readings last. */
import { describe, expect, it } from "vitest";
import { PRIORITY } from "../../../agent/outbox/priority.ts";

describe("PRIORITY", () => {
  it("ranks events above health reports and below clinical readings", () => {
    expect(PRIORITY.telemetry).toBeLessThan(PRIORITY.event);
    expect(PRIORITY.event).toBeLessThan(PRIORITY.clinical);
  });
});
