/**
 * Continuous devices report up to 75 times a second; the hospital needs about one reading a
 * second. Publish at most `rateHz`: the latest values, carrying every flag seen since the last
 * published reading so a brief "artifact" or "sensor-off" is not lost. Spot readings pass.
 *
 * The latest reading held back is kept as pending. While the device keeps reporting, a later
 * reading replaces it or goes out itself, so the stream is as before. When flags were held with
 * it and the device then stays silent for a whole interval — a probe taken off, a link lost, the
 * end of a burst — the pending reading is due: those flags are published with its values rather
 * than waiting for a next reading that may never come. Without held flags nothing is due (the
 * values are at most an interval newer than the last published ones, and publishing them would
 * put two samples closer together than the rate). The caller owns the timer (`pendingDueAt`,
 * then `takeDue`).
 */
import type { DeviceReading, ReadingFlag } from "../../drivers/core/types.ts";

export interface HeldReading {
  reading: DeviceReading;
  receivedAt: Date;
}

interface Pending extends HeldReading {
  offeredAt: number;
}

export class ReadingThrottle {
  readonly #intervalMs: number;
  #lastPublishedAt = Number.NEGATIVE_INFINITY;
  #heldFlags = new Set<ReadingFlag>();
  #pending: Pending | undefined;

  constructor(rateHz: number) {
    this.#intervalMs = 1000 / rateHz;
  }

  /** The reading to publish now, or undefined when it is held back (then pending). */
  offer(reading: DeviceReading, now: number, receivedAt: Date = new Date(now)): DeviceReading | undefined {
    if (reading.kind === "spot") return reading;
    for (const flag of reading.flags) this.#heldFlags.add(flag);
    if (now - this.#lastPublishedAt < this.#intervalMs) {
      this.#pending = { reading, receivedAt, offeredAt: now };
      return undefined;
    }
    return this.#publish(reading, now);
  }

  /** When the pending reading is due (an interval of silence after it), or undefined when no flag is held. */
  pendingDueAt(): number | undefined {
    if (this.#pending === undefined || this.#heldFlags.size === 0) return undefined;
    return this.#pending.offeredAt + this.#intervalMs;
  }

  /** The pending reading with every held flag, once it is due (or `force`d, as on stop); undefined without held flags. */
  takeDue(now: number, force = false): HeldReading | undefined {
    const pending = this.#pending;
    if (pending === undefined || this.#heldFlags.size === 0) return undefined;
    if (!force && now - pending.offeredAt < this.#intervalMs) return undefined;
    return { reading: this.#publish(pending.reading, now), receivedAt: pending.receivedAt };
  }

  #publish(reading: DeviceReading, now: number): DeviceReading {
    this.#lastPublishedAt = now;
    this.#pending = undefined;
    const flags = [...this.#heldFlags];
    this.#heldFlags = new Set();
    return { ...reading, flags };
  }
}
