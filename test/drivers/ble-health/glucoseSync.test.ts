/**
 * Pulling stored glucose records: the Record Access Control Point requests from GLS's layout (Op
 * Code, Operator, Filter Type, Operand), the meter's answers, and each record published once
 * across reconnects — shown against a meter in the test that keeps numbered records and answers
 * Report Stored Records as GLS describes (all, or sequence number >= n), through dropped links,
 * resets that restart the numbering, deleted memories and the uint16 wrap.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHARACTERISTIC, decodeMeasurement } from "../../../drivers/ble-health/characteristics.ts";
import type { DateTime } from "../../../drivers/ble-health/dateTime.ts";
import type { GlucoseMeasurement } from "../../../drivers/ble-health/glucose.ts";
import { GlucoseRecordSync, sequenceAfter, type GlucoseCursor, type GlucoseSyncStep } from "../../../drivers/ble-health/glucoseSync.ts";
import { hex } from "./arbitraries.ts";

/** Record n's base time: one minute per record from 2026-01-01 00:00, so every record's time differs. */
const timeOf = (minute: number): DateTime => {
  const moment = new Date(Date.UTC(2026, 0, 1) + minute * 60_000);
  return { year: moment.getUTCFullYear(), month: moment.getUTCMonth() + 1, day: moment.getUTCDate(), hours: moment.getUTCHours(), minutes: moment.getUTCMinutes(), seconds: 0 };
};
const measurement = (sequenceNumber: number, minute = sequenceNumber): GlucoseMeasurement => ({ sequenceNumber, baseTime: timeOf(minute), contextFollows: false });

const SUCCESS = hex("06 00 01 01");
const NO_RECORDS = hex("06 00 01 06");

describe("the first request", () => {
  it("asks for all records on a meter never read (Op Code 0x01, Operator 0x01 All records)", () => {
    expect([...new GlucoseRecordSync().request()]).toEqual([0x01, 0x01]);
  });

  it("asks for records from the cursor's number on (Operator 0x03 >=, Filter Type 0x01 Sequence Number, uint16 LE)", () => {
    expect([...new GlucoseRecordSync({ cursor: { sequenceNumber: 0x0111 } }).request()]).toEqual([0x01, 0x03, 0x01, 0x11, 0x01]);
  });
});

describe("one connection", () => {
  it("publishes every record of a meter never read and keeps the newest as the cursor", () => {
    const sync = new GlucoseRecordSync();
    expect([1, 2, 3].map((n) => sync.record(measurement(n)))).toEqual([{ publish: true }, { publish: true }, { publish: true }]);
    expect(sync.cursor).toEqual({ sequenceNumber: 3, baseTime: "2026-01-01T00:03:00" });
    expect(sync.response(SUCCESS)).toEqual({ kind: "done", published: 3, cursor: { sequenceNumber: 3, baseTime: "2026-01-01T00:03:00" } });
  });

  it("does not publish the cursor's record, one before it, or one sent twice", () => {
    const sync = new GlucoseRecordSync({ cursor: { sequenceNumber: 5, baseTime: "2026-01-01T00:05:00" } });
    expect(sync.record(measurement(5))).toEqual({ publish: false, reason: "already-published" });
    expect(sync.record(measurement(4))).toEqual({ publish: false, reason: "already-published" });
    expect(sync.record(measurement(6))).toEqual({ publish: true });
    expect(sync.record(measurement(6))).toEqual({ publish: false, reason: "already-published" });
    expect(sync.response(SUCCESS)).toMatchObject({ kind: "done", published: 1, cursor: { sequenceNumber: 6 } });
  });

  it("takes a record from its bytes as the meter notifies it", () => {
    // Flags 0x02, sequence 7, base time 2026-01-01 00:07:00, 95 × 10^-5 kg/L, capillary whole blood, finger.
    const decoded = decodeMeasurement(CHARACTERISTIC.GLUCOSE_MEASUREMENT, hex("02 07 00 EA 07 01 01 00 07 00 5F B0 11"));
    if (!decoded.ok) throw new Error(decoded.reason);
    const sync = new GlucoseRecordSync({ cursor: { sequenceNumber: 6 } });
    expect(sync.record(decoded.measurement as GlucoseMeasurement)).toEqual({ publish: true });
    expect(sync.cursor).toEqual({ sequenceNumber: 7, baseTime: "2026-01-01T00:07:00" });
  });

  it("is done with nothing new when only the cursor's record comes back", () => {
    const cursor = { sequenceNumber: 5, baseTime: "2026-01-01T00:05:00" };
    const sync = new GlucoseRecordSync({ cursor });
    sync.record(measurement(5));
    expect(sync.response(SUCCESS)).toEqual({ kind: "done", published: 0, cursor });
  });

  it("asks for all records when the cursor's record is gone (no records found) or is another record", () => {
    const gone = new GlucoseRecordSync({ cursor: { sequenceNumber: 500, baseTime: "2026-01-01T08:20:00" } });
    const step = gone.response(NO_RECORDS);
    expect(step).toMatchObject({ kind: "write", request: Uint8Array.from([0x01, 0x01]) });
    // After a reset the meter numbers from 0 again: its records below the old cursor are new.
    expect(gone.record(measurement(0, 9000))).toEqual({ publish: true });
    expect(gone.record(measurement(1, 9001))).toEqual({ publish: true });
    expect(gone.response(SUCCESS)).toMatchObject({ kind: "done", published: 2, cursor: { sequenceNumber: 1 } });

    const other = new GlucoseRecordSync({ cursor: { sequenceNumber: 2, baseTime: "2026-01-01T00:02:00" } });
    expect(other.record(measurement(2, 9002))).toEqual({ publish: false, reason: "already-published" });
    expect(other.record(measurement(3, 9003))).toEqual({ publish: false, reason: "asked-again" });
    expect(other.response(SUCCESS)).toMatchObject({ kind: "write", request: Uint8Array.from([0x01, 0x01]) });
    expect([0, 1, 2, 3].map((n) => other.record(measurement(n, 9000 + n)).publish)).toEqual([true, true, true, true]);
    expect(other.response(SUCCESS)).toMatchObject({ kind: "done", published: 4, cursor: { sequenceNumber: 3, baseTime: "2026-01-07T06:03:00" } });
  });

  it("asks for all records once the numbering reached 0xFFFF, and publishes only those after it", () => {
    const sync = new GlucoseRecordSync({ cursor: { sequenceNumber: 0xfffe } });
    expect(sync.record(measurement(0xfffe))).toMatchObject({ publish: false });
    expect(sync.record(measurement(0xffff))).toEqual({ publish: true });
    expect(sync.response(SUCCESS)).toMatchObject({ kind: "write", request: Uint8Array.from([0x01, 0x01]) });
    expect([0xfff0, 0xfffe, 0xffff, 0, 1].map((n) => sync.record(measurement(n)).publish)).toEqual([false, false, false, true, true]);
    expect(sync.response(SUCCESS)).toMatchObject({ kind: "done", published: 3, cursor: { sequenceNumber: 1 } });
  });

  it("reports the meter's refusals and counts, and a broken indication, as values", () => {
    expect(new GlucoseRecordSync().response(hex("06 00 01 04"))).toMatchObject({ kind: "failed", code: "operator-not-supported" });
    expect(new GlucoseRecordSync().response(hex("06 00 01 08"))).toMatchObject({ kind: "failed", code: "procedure-not-completed" });
    expect(new GlucoseRecordSync().response(hex("05 00 2A 00"))).toEqual({ kind: "count", records: 42 });
    expect(new GlucoseRecordSync().response(hex("06 00 03 01"))).toMatchObject({ kind: "failed", code: "unexpected-response" });
    expect(new GlucoseRecordSync().response(hex("06 00 01"))).toMatchObject({ kind: "failed", code: "invalid-response" });
  });
});

describe("sequence numbers compared over the uint16 wrap (RFC 1982)", () => {
  it("puts 0 after 0xFFFF and 65000 before 5", () => {
    expect(sequenceAfter(0, 0xffff)).toBe(true);
    expect(sequenceAfter(65000, 5)).toBe(false);
    expect(sequenceAfter(6, 5)).toBe(true);
    expect(sequenceAfter(5, 5)).toBe(false);
  });
});

/** A meter as GLS describes it: numbered records, at most `capacity` kept (oldest dropped), RACP answered. */
class Meter {
  records: Array<{ sequenceNumber: number; minute: number }> = [];
  next: number;
  minute = 0;
  readonly capacity: number;

  constructor(start: number, capacity: number) {
    this.next = start;
    this.capacity = capacity;
  }

  measure(): number {
    this.minute += 1;
    this.records.push({ sequenceNumber: this.next, minute: this.minute });
    this.next = (this.next + 1) % 0x10000;
    if (this.records.length > this.capacity) this.records.shift();
    return this.minute;
  }

  /** The records a Report Stored Records request selects, oldest first (the Operand's filter is numeric). */
  answer(request: Uint8Array): Array<{ sequenceNumber: number; minute: number }> {
    const [op, operator, filter, low = 0, high = 0] = request;
    expect(op).toBe(0x01);
    if (operator === 0x01) return [...this.records];
    expect([operator, filter]).toEqual([0x03, 0x01]);
    return this.records.filter((record) => record.sequenceNumber >= (low | (high << 8)));
  }
}

type Event = { kind: "measure"; count: number } | { kind: "sync"; cutAfter?: number } | { kind: "reset" } | { kind: "delete-all" };

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("measure" as const), count: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("sync" as const), cutAfter: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reset" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "delete-all" as const }) },
);

/**
 * One connection: the box writes the request, the meter sends the selected records and its
 * response; a link cut after `cutAfter` records ends it there. The cursor persisted is the one the
 * sync has after each published record.
 */
function connect(meter: Meter, cursor: GlucoseCursor | undefined, published: number[], cutAfter?: number): GlucoseCursor | undefined {
  const sync = new GlucoseRecordSync(cursor === undefined ? {} : { cursor });
  let request = sync.request();
  let sent = 0;
  for (let round = 0; round < 3; round++) {
    const selected = meter.answer(request);
    for (const record of selected) {
      if (cutAfter !== undefined && sent++ >= cutAfter) return sync.cursor;
      if (sync.record(measurement(record.sequenceNumber, record.minute)).publish) published.push(record.minute);
    }
    const step: GlucoseSyncStep = sync.response(selected.length === 0 ? NO_RECORDS : SUCCESS);
    if (step.kind === "done") return step.cursor;
    if (step.kind !== "write") throw new Error(`unexpected ${step.kind}`);
    request = step.request;
  }
  throw new Error("more than three requests in one pull");
}

describe("across reconnects", () => {
  it("publishes every record that is on the meter at a completed connection exactly once", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 0xfff0, 0xfffe),
        fc.integer({ min: 5, max: 60 }),
        fc.array(eventArb, { maxLength: 30 }),
        (start, capacity, events) => {
          const meter = new Meter(start, capacity);
          const published: number[] = [];
          /** Records (by the minute they were taken, unique) that a completed connection could see. */
          const due = new Set<number>();
          let cursor: GlucoseCursor | undefined;
          for (const event of [...events, { kind: "sync" } satisfies Event]) {
            if (event.kind === "measure") for (let i = 0; i < event.count; i++) meter.measure();
            if (event.kind === "reset") {
              meter.records = [];
              meter.next = 0;
            }
            if (event.kind === "delete-all") meter.records = [];
            if (event.kind === "sync") {
              const complete = event.cutAfter === undefined;
              if (complete) for (const record of meter.records) due.add(record.minute);
              cursor = connect(meter, cursor, published, event.cutAfter);
            }
          }
          expect(new Set(published).size, "a record published twice").toBe(published.length);
          for (const minute of due) expect(published, `record of minute ${minute}`).toContain(minute);
        },
      ),
      { numRuns: 500 },
    );
  });
});
