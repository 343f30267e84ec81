/**
 * One connected Bluetooth LE health device, as the driver sees it: GATT frames from the link
 * (gattStream.ts) in, readings and counted discards out. The Device Information strings pick the
 * device's quirks before its measurements are decoded; when the link says it is ready, the
 * driver asks a glucose meter for its stored records (RACP) and sets a device's clock through
 * the Current Time Service where the options allow it, by writes it hands back as `reply`.
 */
import type { Decoder, DecoderEvent } from "../types.ts";
import { BleHealthDecoder, CHARACTERISTIC, MEASUREMENT_CHARACTERISTICS } from "./characteristics.ts";
import { encodeCurrentTime } from "./dateTime.ts";
import { BleValueError } from "./fields.ts";
import { encodeFrame, FRAME_KIND, GattFrameReader, parseReady, type GattFrame } from "./gattStream.ts";
import { quirksFor, type DeviceIdentity, type QuirkId } from "./quirks.ts";
import { decodeRacpResponse, encodeRacpRequest } from "./racp.ts";

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
}

export class BleHealthStream implements Decoder {
  readonly #options: BleHealthStreamOptions;
  readonly #reader = new GattFrameReader();
  readonly #identity: DeviceIdentity = {};
  #decoder: BleHealthDecoder;

  constructor(options: BleHealthStreamOptions) {
    this.#options = options;
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
      const quirks = [...new Set([...this.#options.quirks, ...quirksFor(this.#identity)])];
      this.#decoder = new BleHealthDecoder({ quirks });
      return [{ type: "message", message: { identity: { ...this.#identity }, quirks } }];
    }
    if (characteristic === CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT) {
      try {
        return [{ type: "message", message: { racp: decodeRacpResponse(value) } }];
      } catch (error) {
        if (error instanceof BleValueError) return [{ type: "discarded", bytes: value.length, reason: error.message }];
        throw error;
      }
    }
    return this.#decoder.decode(characteristic, value);
  }

  /** Subscribed: pull a glucose meter's stored records and set the clock, by writes to the device. */
  #ready(value: Uint8Array): DecoderEvent[] {
    const ready = parseReady(value);
    if (!ready) return [{ type: "discarded", bytes: value.length, reason: "a malformed ready frame" }];
    const has = new Set(ready.characteristics);
    const writes: DecoderEvent[] = [];
    const write = (characteristic: number, bytes: Uint8Array) =>
      writes.push({ type: "reply", bytes: encodeFrame({ kind: FRAME_KIND.WRITE, characteristic, value: bytes }) });
    if (this.#options.setClock && has.has(CHARACTERISTIC.CURRENT_TIME) && Number.isFinite(ready.boxTimeMs)) {
      write(CHARACTERISTIC.CURRENT_TIME, encodeCurrentTime({ now: new Date(ready.boxTimeMs), utcOffsetMinutes: this.#options.utcOffsetMinutes }));
    }
    if (has.has(CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT) && has.has(CHARACTERISTIC.GLUCOSE_MEASUREMENT)) {
      write(CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT, encodeRacpRequest({ op: "report-records" }));
    }
    return writes;
  }
}

/** The characteristics the link subscribes to: every measurement, and the RACP's indications. */
export const SUBSCRIBED_CHARACTERISTICS: readonly number[] = [...MEASUREMENT_CHARACTERISTICS, CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT];

const hex = (uuid: number) => uuid.toString(16).padStart(4, "0");
