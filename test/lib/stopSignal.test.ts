import { describe, expect, it } from "vitest";
import { stopSignal } from "../../lib/stopSignal.ts";

describe("stopSignal", () => {
  it("listens at once, resolves on SIGTERM or SIGINT, and leaves no listener behind", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const before = { term: process.listenerCount("SIGTERM"), int: process.listenerCount("SIGINT") };
      const stopped = stopSignal();
      // Listening from the call on: a signal before the caller says it is up is not the default kill.
      expect(process.listenerCount("SIGTERM")).toBe(before.term + 1);
      expect(process.listenerCount("SIGINT")).toBe(before.int + 1);
      process.emit(signal);
      await expect(stopped).resolves.toBeUndefined();
      expect({ term: process.listenerCount("SIGTERM"), int: process.listenerCount("SIGINT") }).toEqual(before);
    }
  });
});
