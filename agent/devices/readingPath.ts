/**
 * The way of a reading, from the device's bytes to the outbox, top to bottom as the data flows:
 *
 *   1. bytes from the link        peripheral.ts holds the link (drivers/serial/link.ts, drivers/net/,
 *                                 bleLink.ts) and hands each chunk here with the time it came
 *   2. the driver instance        drivers/core/types.ts (DriverInstance.push): decodes; the replies
 *                                 its decoder asks for go to the device through its DeviceIo, and
 *                                 controller messages to its controller: only readings and discards
 *                                 come out
 *   3. what may be published      `publishable` below: discards and demo data are counted, not published
 *   4. the throttle               throttle.ts: a continuous device at publishRateHz, held flags kept
 *   5. the stamp                  readingPayload.ts: id, peripheral, driver, device and receive time,
 *                                 clock offset, flags, the observations with their units
 *   6. the outbox                 agent/outbox/outbox.ts: clinical priority, on the peripheral's
 *                                 reading topic; it numbers (seq), keeps and publishes the reading
 *
 * Nothing here writes to the device: a driver instance's `io` is the one way there.
 */
import { randomUUID } from "node:crypto";
import { DEVICE_NUMERIC } from "../../drivers/core/observations.ts";
import type { DeviceReading, DriverEvent, DriverInstance } from "../../drivers/core/types.ts";
import type { PeripheralState } from "../core/api.ts";
import { PRIORITY } from "../outbox/priority.ts";
import type { NewEntry } from "../outbox/store.ts";
import { readingPayload } from "./readingPayload.ts";
import { ReadingThrottle } from "./throttle.ts";

/** The counters of a peripheral's state that this path keeps: what arrived, before the throttle. */
export type ReadingCounters = Pick<PeripheralState, "readings" | "demoReadings" | "unmappedObservations" | "badFrames" | "discardedBytes" | "lastReadingAt">;

/** Where stamped readings go: the Outbox (agent/outbox/outbox.ts). */
export interface ReadingOutbox {
  enqueue(entry: NewEntry): unknown;
}

/** Who a reading is from and where it is published: what the stamp adds. */
export interface ReadingSource {
  peripheral: string;
  driver: string;
  /** The peripheral's reading topic (agent/core/topics.ts). */
  topic: string;
}

export interface ReadingPathOptions extends ReadingSource {
  publishRateHz: number;
  outbox: ReadingOutbox;
  /** The peripheral's state, whose counters are kept up to date here. */
  counters: ReadingCounters;
}

/** One peripheral's readings, from each chunk of bytes to the outbox. */
export class ReadingPath {
  readonly #counters: ReadingCounters;
  readonly #heldBack: HeldBack;

  constructor(options: ReadingPathOptions) {
    this.#counters = options.counters;
    // 5. and 6.: stamped, into the outbox.
    this.#heldBack = new HeldBack(options.publishRateHz, (reading, receivedAt) => options.outbox.enqueue(stampedEntry(reading, receivedAt, options)));
  }

  /** 1. A chunk of bytes from the link, with the time it came, and the connection's driver instance. */
  receive(chunk: Uint8Array, instance: DriverInstance, receivedAt: Date): void {
    // 2. Decoded; each reading goes all the way to the outbox before a reply after it is sent.
    instance.push(chunk, (event) => {
      // 3. Worth publishing?
      const reading = publishable(event, this.#counters, receivedAt);
      // 4. The throttle passes it on to 5. and 6., now or later, or keeps its flags for the next.
      if (reading) this.#heldBack.offer(reading, receivedAt);
    });
  }

  /** The peripheral stops: a held-back reading with flags is stored now, not dropped. */
  release(): void {
    this.#heldBack.release();
  }
}

/** 3. A reading worth publishing, or undefined; every event is counted in the peripheral's state. */
export function publishable(event: DriverEvent, counters: ReadingCounters, receivedAt: Date): DeviceReading | undefined {
  if (event.type === "discarded") {
    counters.badFrames += 1;
    counters.discardedBytes += event.bytes;
    return undefined;
  }
  if (event.reading.flags.includes("demo-data")) {
    // A monitor in demo mode produces invented values: count them, never publish them.
    counters.demoReadings += 1;
    return undefined;
  }
  counters.readings += 1;
  // Published all the same, but an operator should see that the table lacks something.
  counters.unmappedObservations += event.reading.observations.filter((observation) => observation.type === DEVICE_NUMERIC).length;
  counters.lastReadingAt = receivedAt.toISOString();
  return event.reading;
}

type Store = (reading: DeviceReading, receivedAt: Date) => void;

/** 4. The throttle (throttle.ts) and the timer that stores its held-back reading when due. */
class HeldBack {
  readonly #throttle: ReadingThrottle;
  readonly #store: Store;
  #timer: NodeJS.Timeout | undefined;

  constructor(rateHz: number, store: Store) {
    this.#throttle = new ReadingThrottle(rateHz);
    this.#store = store;
  }

  offer(reading: DeviceReading, receivedAt: Date): void {
    const due = this.#throttle.offer(reading, receivedAt.getTime(), receivedAt);
    if (due) this.#store(due, receivedAt);
    else this.#storeWhenDue();
  }

  /** The held-back reading and its flags, stored now; no timer is left behind. */
  release(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const due = this.#throttle.takeDue(Date.now(), true);
    if (due) this.#store(due.reading, due.receivedAt);
  }

  /** A held-back reading with held flags goes out an interval later even if its device falls silent. */
  #storeWhenDue(): void {
    const dueAt = this.#throttle.pendingDueAt();
    if (this.#timer !== undefined || dueAt === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const due = this.#throttle.takeDue(Date.now());
      if (due) this.#store(due.reading, due.receivedAt);
      else this.#storeWhenDue();
    }, Math.max(0, dueAt - Date.now()));
  }
}

/** 5. The stamp: the reading in its published shape (readingPayload.ts), as an outbox entry (6.). */
export function stampedEntry(reading: DeviceReading, receivedAt: Date, source: ReadingSource): NewEntry {
  return {
    topic: source.topic,
    priority: PRIORITY.clinical,
    createdAt: receivedAt.getTime(),
    // The outbox gives the sequence number when it stores the entry.
    payload: (seq) => JSON.stringify(readingPayload(reading, { id: randomUUID(), seq, peripheral: source.peripheral, driver: source.driver, receivedAt })),
  };
}
