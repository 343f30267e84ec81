/**
 * Pulling a glucose meter's stored records (GLP/GLS v1.0.1, Record Access Control Point 0x2A52)
 * so that each record is published once, across reconnects. Pure state, no I/O: the caller writes
 * `request()` to the control point, passes every decoded Glucose Measurement to `record()` (which
 * says whether to publish it) and every control-point indication to `response()` (which says what
 * to do next). Between connections the caller persists `cursor` — the newest sequence number
 * published for the device, with that record's base time — and passes it in next time.
 *
 * The first connection asks for all records; later ones for those whose sequence number is
 * greater than or equal to the cursor's (Op Code 0x01, Operator 0x03, Filter Type 0x01 Sequence
 * Number). The cursor's own record comes back too: it is not published again, but it shows that
 * the meter still numbers its records as before. Three cases ask once more, for all records:
 * - the meter answers "no records found" (the cursor's record is gone and nothing is newer) or
 *   sends another record under the cursor's number (a different base time): its numbering was
 *   restarted (a reset or a replaced meter), so every record it has that was not published in
 *   this connection is new;
 * - the cursor's number is 0xFFFF, the top of the uint16 field: numbering can only go on at 0,
 *   which a "greater than or equal to" filter never reaches, so the records after it are asked
 *   for with all the others and told apart by serial-number arithmetic (RFC 1982 over 16 bits).
 */
import type { GlucoseMeasurement } from "./glucose.ts";
import { isoDeviceTime } from "./dateTime.ts";
import { BleValueError } from "./fields.ts";
import { decodeRacpResponse, encodeRacpRequest, type RacpResponseCode } from "./racp.ts";

/** What the caller keeps per device between connections (JSON-safe). */
export interface GlucoseCursor {
  /** The newest sequence number published for the device (uint16). */
  sequenceNumber: number;
  /** That record's base time as `isoDeviceTime` gives it: tells a renumbered meter from one that kept its numbering. */
  baseTime?: string;
}

export interface GlucoseSyncOptions {
  /** The cursor persisted after the last connection; absent for a meter never read. */
  cursor?: GlucoseCursor;
}

/** Whether a Glucose Measurement that arrived is one to publish. */
export type GlucoseRecordVerdict =
  | { publish: true }
  /**
   * already-published: the cursor's record, one before it (RFC 1982 over 16 bits), or one already
   * published in this connection. asked-again: the meter was renumbered; the record comes again
   * in the follow-up request (not published now, so the cursor never passes an unpublished record).
   */
  | { publish: false; reason: "already-published" | "asked-again" };

/** What the caller does after a control-point indication. */
export type GlucoseSyncStep =
  /** Write `request` to the control point: a follow-up request of the same pull. */
  | { kind: "write"; request: Uint8Array; reason: string }
  /** The pull is over: `published` records were new in this connection; persist `cursor`. */
  | { kind: "done"; published: number; cursor?: GlucoseCursor }
  /** The meter's answer to a Report Number of Stored Records request. */
  | { kind: "count"; records: number }
  /** The meter refused or could not complete the request, or its answer broke the specification. */
  | { kind: "failed"; code: RacpResponseCode | "invalid-response" | "unexpected-response"; reason: string };

/** Which records a pull's current request asks for and which of them are new. */
type Phase =
  /** First connection: all records, all new. */
  | "all"
  /** Records from the cursor's number on; those above it are new. */
  | "from-cursor"
  /** All records after a renumbering: every one not yet published in this connection is new. */
  | "renumbered"
  /** All records after the cursor reached 0xFFFF: those newer by serial arithmetic are new. */
  | "wrapped";

const SEQUENCE_MODULUS = 0x10000;
const OP_REPORT_STORED_RECORDS = 0x01;

/** RFC 1982 over 16 bits: whether sequence number `a` comes after `b`. */
export function sequenceAfter(a: number, b: number): boolean {
  const distance = (a - b + SEQUENCE_MODULUS) % SEQUENCE_MODULUS;
  return distance !== 0 && distance < SEQUENCE_MODULUS / 2;
}

/** One connection's pull of stored glucose records. */
export class GlucoseRecordSync {
  /** The cursor as the connection started: what "already published" means. */
  readonly #start: GlucoseCursor | undefined;
  #cursor: GlucoseCursor | undefined;
  #phase: Phase;
  #anchor: "unseen" | "same" | "different" = "unseen";
  readonly #published = new Set<number>();

  constructor(options: GlucoseSyncOptions = {}) {
    this.#start = options.cursor;
    this.#cursor = options.cursor;
    this.#phase = options.cursor === undefined ? "all" : "from-cursor";
  }

  /** The cursor to persist now (it moves with every published record, so a dropped link loses nothing). */
  get cursor(): GlucoseCursor | undefined {
    return this.#cursor;
  }

  /** The bytes to write to the control point for the current request. */
  request(): Uint8Array {
    if (this.#phase === "from-cursor" && this.#start) return encodeRacpRequest({ op: "report-records", from: this.#start.sequenceNumber });
    return encodeRacpRequest({ op: "report-records" });
  }

  /** A Glucose Measurement the meter sent (during the pull, or on its own after a new test). */
  record(measurement: GlucoseMeasurement): GlucoseRecordVerdict {
    const { sequenceNumber } = measurement;
    const baseTime = isoDeviceTime(measurement.baseTime);
    if (this.#published.has(sequenceNumber)) return { publish: false, reason: "already-published" };
    const start = this.#start;
    if (start !== undefined && this.#phase !== "renumbered") {
      if (sequenceNumber === start.sequenceNumber && this.#anchor === "unseen") {
        this.#anchor = start.baseTime === undefined || baseTime === start.baseTime ? "same" : "different";
      }
      // Serial arithmetic, not "<": after a wrap the meter's filter also returns 65000 for ">= 5".
      if (!sequenceAfter(sequenceNumber, start.sequenceNumber)) return { publish: false, reason: "already-published" };
      // A renumbered meter's records come again, all of them in order, in the follow-up request:
      // publishing them now would move the cursor past the new numbering's first records.
      if (this.#anchor === "different") return { publish: false, reason: "asked-again" };
    }
    const cursor = this.#cursor;
    // The newest record moves the cursor; after a renumbering, a cursor not published in this
    // connection is the old numbering's and says nothing any more.
    const stale = cursor === undefined || (this.#phase === "renumbered" && !this.#published.has(cursor.sequenceNumber));
    this.#published.add(sequenceNumber);
    if (stale || sequenceAfter(sequenceNumber, cursor.sequenceNumber)) {
      this.#cursor = baseTime === undefined ? { sequenceNumber } : { sequenceNumber, baseTime };
    }
    return { publish: true };
  }

  /** A control-point indication (Response Code or Number of Stored Records). */
  response(value: Uint8Array): GlucoseSyncStep {
    let response;
    try {
      response = decodeRacpResponse(value);
    } catch (error) {
      if (error instanceof BleValueError) return { kind: "failed", code: "invalid-response", reason: error.message };
      throw error;
    }
    if (response.kind === "count") return { kind: "count", records: response.records };
    if (response.requestOpCode !== OP_REPORT_STORED_RECORDS) {
      return { kind: "failed", code: "unexpected-response", reason: `a response to op code ${response.requestOpCode}, not to Report Stored Records` };
    }
    if (response.code !== "success" && response.code !== "no-records-found") return { kind: "failed", code: response.code, reason: `the meter answered ${response.code}` };
    if (this.#phase === "from-cursor") {
      if (response.code === "no-records-found" || this.#anchor === "different") {
        this.#phase = "renumbered";
        return { kind: "write", request: this.request(), reason: "the meter no longer has the last published record under its number: its numbering restarted" };
      }
      if (this.#cursor?.sequenceNumber === SEQUENCE_MODULUS - 1) {
        this.#phase = "wrapped";
        return { kind: "write", request: this.request(), reason: "sequence number 0xFFFF reached: the next records are numbered from 0" };
      }
    }
    const cursor = this.#cursor;
    return cursor === undefined ? { kind: "done", published: this.#published.size } : { kind: "done", published: this.#published.size, cursor };
  }
}
