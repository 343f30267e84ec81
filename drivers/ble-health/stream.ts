/**
 * One connected Bluetooth LE health device, as the driver sees it: GATT frames from the link
 * (gattStream.ts) in, readings and counted discards out. The Device Information strings pick the
 * device's quirks before its measurements are decoded, and the Current Time read off the device
 * gives its clock's offset from the box's (deviceClock.ts), reported with every reading of the
 * connection. When the link says it is ready, the driver asks a glucose meter for its stored
 * records (RACP, glucoseSync.ts: each record published once, across reconnects, through the
 * peripheral's memory) and sets a clock that is off, where the options allow it; both by writes
 * handed back as `reply`.
 */
import type { Decoder, DecoderEvent } from "../core/types.ts";
import { BleHealthDecoder, CHARACTERISTIC, MEASUREMENT_CHARACTERISTICS } from "./characteristics.ts";
import { decodeCurrentTime, encodeCurrentTime, type CurrentTime } from "./dateTime.ts";
import { DEVICE_CLOCK_TOLERANCE_MS, deviceClockOffsetMs, withDeviceClockOffset, zoneOffsetMinutes } from "./deviceClock.ts";
import { BleValueError } from "./fields.ts";
import { encodeFrame, FRAME_KIND, GattFrameReader, parseReady, type GattFrame } from "./gattStream.ts";
import { glucoseLayout, glucoseReading } from "./glucose.ts";
import { GlucoseRecordSync, type GlucoseCursor } from "./glucoseSync.ts";
import { decodeWithLayout } from "./layout.ts";
import { quirksFor, type DeviceIdentity, type QuirkId } from "./quirks.ts";

/** Device Information Service (0x180A) strings that name the model (GATT assigned numbers). */
export const DEVICE_INFORMATION = { SERVICE: 0x180a, MANUFACTURER_NAME: 0x2a29, MODEL_NUMBER: 0x2a24 } as const;
/** Longest identity string kept: the DIS strings are free text of up to a whole ATT value. */
const MAX_IDENTITY_LENGTH = 64;

export interface BleHealthStreamOptions {
  /** Quirks forced by configuration, added to those the device's identity selects. */
  quirks: readonly QuirkId[];
  /** Set the device's clock through the Current Time Service when it has one. */
  setClock: boolean;
  /** Minutes east of UTC of the device's wall clock (devices keep local time). */
  utcOffsetMinutes: number;
  /** The site's IANA zone: its offset at the moment (DST included) instead of utcOffsetMinutes. */
  timeZone?: string | undefined;
}

/** What one peripheral keeps across its connections. */
export class BleHealthMemory {
  /** The newest glucose record published from this meter (GlucoseRecordSync's cursor). */
  glucoseCursor: GlucoseCursor | undefined;
}

export class BleHealthStream implements Decoder {
  readonly #options: BleHealthStreamOptions;
  readonly #memory: BleHealthMemory;
  readonly #reader = new GattFrameReader();
  readonly #identity: DeviceIdentity = {};
  #quirks: readonly QuirkId[];
  #decoder: BleHealthDecoder;
  /** The device's Current Time as read at connection, until the ready frame dates it. */
  #currentTime: CurrentTime | undefined;
  #clockOffsetMs: number | undefined;
  /** This connection's pull of stored glucose records, once the meter's RACP is there. */
  #glucose: GlucoseRecordSync | undefined;

  constructor(options: BleHealthStreamOptions, memory = new BleHealthMemory()) {
    this.#options = options;
    this.#memory = memory;
    this.#quirks = options.quirks;
    this.#decoder = new BleHealthDecoder({ quirks: options.quirks });
  }

  push(chunk: Uint8Array): DecoderEvent[] {
    return this.#reader.push(chunk).flatMap((event) => (event.type === "frame" ? this.#frame(event.frame) : [event]));
  }

  #frame(frame: GattFrame): DecoderEvent[] {
    switch (frame.kind) {
      case FRAME_KIND.VALUE:
        return this.#value(frame.characteristic, frame.value);
      case FRAME_KIND.DROPPED: {
        const view = new DataView(frame.value.buffer, frame.value.byteOffset, frame.value.byteLength);
        const values = frame.value.length >= 4 ? view.getUint32(0, true) : 0;
        const bytes = frame.value.length >= 8 ? view.getUint32(4, true) : 0;
        return [{ type: "discarded", bytes, reason: `0x${hex(frame.characteristic)} flooded the link: ${values} value(s) dropped` }];
      }
      case FRAME_KIND.READY:
        return this.#ready(frame.value);
      case FRAME_KIND.WRITE:
        return [{ type: "discarded", bytes: frame.value.length, reason: "a write frame from the link's side" }];
    }
  }

  #value(characteristic: number, value: Uint8Array): DecoderEvent[] {
    if (characteristic === DEVICE_INFORMATION.MANUFACTURER_NAME || characteristic === DEVICE_INFORMATION.MODEL_NUMBER) {
      const text = new TextDecoder().decode(value.subarray(0, MAX_IDENTITY_LENGTH));
      if (characteristic === DEVICE_INFORMATION.MANUFACTURER_NAME) this.#identity.manufacturer = text;
      else this.#identity.model = text;
      this.#quirks = [...new Set([...this.#options.quirks, ...quirksFor(this.#identity)])];
      this.#decoder = new BleHealthDecoder({ quirks: this.#quirks });
      return [{ type: "message", message: { identity: { ...this.#identity }, quirks: this.#quirks } }];
    }
    if (characteristic === CHARACTERISTIC.CURRENT_TIME) {
      const current = valueOrError(() => decodeCurrentTime(value));
      if (current instanceof BleValueError) return [{ type: "discarded", bytes: value.length, reason: current.message }];
      this.#currentTime = current;
      return [];
    }
    if (characteristic === CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT) return this.#racp(value);
    if (characteristic === CHARACTERISTIC.GLUCOSE_MEASUREMENT) return this.#glucoseRecord(value);
    return this.#decoder.decode(characteristic, value).map((event) => (event.type === "reading" ? { ...event, reading: withDeviceClockOffset(event.reading, this.#clockOffsetMs) } : event));
  }

  /** A glucose record, published only if it is new (by sequence number, across reconnects). */
  #glucoseRecord(value: Uint8Array): DecoderEvent[] {
    const measurement = valueOrError(() => decodeWithLayout(glucoseLayout, value, this.#quirks));
    if (measurement instanceof BleValueError) return [{ type: "discarded", bytes: value.length, reason: measurement.message }];
    const message: DecoderEvent = { type: "message", message: { characteristic: CHARACTERISTIC.GLUCOSE_MEASUREMENT, measurement } };
    const verdict = this.#glucose?.record(measurement) ?? { publish: true };
    if (!verdict.publish) return [message];
    if (this.#glucose) this.#memory.glucoseCursor = this.#glucose.cursor;
    return [message, { type: "reading", reading: withDeviceClockOffset(glucoseReading(measurement), this.#clockOffsetMs) }];
  }

  /** The meter's answer on the control point: ask again, or the pull is over. */
  #racp(value: Uint8Array): DecoderEvent[] {
    if (!this.#glucose) return [{ type: "discarded", bytes: value.length, reason: "a RACP indication with no request outstanding" }];
    const step = this.#glucose.response(value);
    if (step.kind === "write") return [{ type: "message", message: { racp: step.reason } }, writeEvent(CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT, step.request)];
    if (step.kind === "done") {
      this.#memory.glucoseCursor = step.cursor;
      return [{ type: "message", message: { racp: "done", published: step.published } }];
    }
    if (step.kind === "failed" && step.code === "invalid-response") return [{ type: "discarded", bytes: value.length, reason: step.reason }];
    return [{ type: "message", message: { racp: step } }];
  }

  /** Subscribed: pull a glucose meter's stored records and set the clock, by writes to the device. */
  #ready(value: Uint8Array): DecoderEvent[] {
    const ready = parseReady(value);
    if (!ready) return [{ type: "discarded", bytes: value.length, reason: "a malformed ready frame" }];
    const has = new Set(ready.characteristics);
    const events: DecoderEvent[] = [];
    const now = new Date(ready.boxTimeMs);
    const { timeZone } = this.#options;
    const utcOffsetMinutes = timeZone === undefined || !Number.isFinite(ready.boxTimeMs) ? this.#options.utcOffsetMinutes : zoneOffsetMinutes(timeZone, now);
    if (this.#currentTime && Number.isFinite(ready.boxTimeMs)) {
      // The Current Time was read just before the link said it was ready (the same few ms).
      this.#clockOffsetMs = deviceClockOffsetMs(this.#currentTime.dateTime, { now, utcOffsetMinutes }, this.#currentTime.fractions256);
      events.push({ type: "message", message: { deviceClockOffsetMs: this.#clockOffsetMs } });
    }
    const clockOff = this.#clockOffsetMs === undefined || Math.abs(this.#clockOffsetMs) > DEVICE_CLOCK_TOLERANCE_MS;
    if (this.#options.setClock && clockOff && this.#currentTime && Number.isFinite(ready.boxTimeMs)) {
      // The offset measured stays on this connection's readings: the write may be refused (Current
      // Time is writable only on some devices) and nothing here confirms it; the next connection
      // reads the clock again and shows whether it took.
      events.push(writeEvent(CHARACTERISTIC.CURRENT_TIME, encodeCurrentTime({ now, utcOffsetMinutes })));
    }
    if (has.has(CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT) && has.has(CHARACTERISTIC.GLUCOSE_MEASUREMENT)) {
      this.#glucose = new GlucoseRecordSync(this.#memory.glucoseCursor === undefined ? {} : { cursor: this.#memory.glucoseCursor });
      events.push(writeEvent(CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT, this.#glucose.request()));
    }
    return events;
  }
}

/** The characteristics the link subscribes to: every measurement, and the RACP's indications. */
export const SUBSCRIBED_CHARACTERISTICS: readonly number[] = [...MEASUREMENT_CHARACTERISTICS, CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT];

const writeEvent = (characteristic: number, value: Uint8Array): DecoderEvent => ({ type: "reply", bytes: encodeFrame({ kind: FRAME_KIND.WRITE, characteristic, value }) });

function valueOrError<T>(decode: () => T): T | BleValueError {
  try {
    return decode();
  } catch (error) {
    if (error instanceof BleValueError) return error;
    throw error;
  }
}

const hex = (uuid: number) => uuid.toString(16).padStart(4, "0");
