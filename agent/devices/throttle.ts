/**
 * Continuous devices report up to 75 times a second; the hospital needs about one reading a
 * second. Publish at most `rateHz`: the latest values, carrying every flag seen since the last
 * published reading so a brief "artifact" or "sensor-off" is not lost. Spot readings pass.
 */
import type { DeviceReading, ReadingFlag } from "../../drivers/types.ts";

export class ReadingThrottle {
  readonly #intervalMs: number;
  #lastPublishedAt = Number.NEGATIVE_INFINITY;
  #heldFlags = new Set<ReadingFlag>();

  constructor(rateHz: number) {
    this.#intervalMs = 1000 / rateHz;
  }

  /** The reading to publish now, or undefined when it is held back. */
  offer(reading: DeviceReading, now: number): DeviceReading | undefined {
    if (reading.kind === "spot") return reading;
    for (const flag of reading.flags) this.#heldFlags.add(flag);
    if (now - this.#lastPublishedAt < this.#intervalMs) return undefined;
    this.#lastPublishedAt = now;
    const flags = [...this.#heldFlags];
    this.#heldFlags = new Set();
    return { ...reading, flags };
  }
}
