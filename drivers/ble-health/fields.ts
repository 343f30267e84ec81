/**
 * Reading and writing GATT characteristic values: every multi-octet field is little-endian
 * (GSS: "multi-octet fields … little-endian"), medfloats as in medfloat.ts. A value that
 * is shorter than its fields throws `BleValueError` ("truncated"); the characteristic decoder
 * turns that into a counted discard. No I/O here.
 */
import { decodeFloat, decodeSfloat, encodeFloat, encodeSfloat, type MedFloat } from "./medfloat.ts";

export type BleValueErrorCode = "truncated" | "length-mismatch" | "reserved-flags" | "invalid-field" | "implausible-value" | "unknown-characteristic";

/** Why a characteristic value is not one the specification allows. */
export class BleValueError extends Error {
  readonly code: BleValueErrorCode;

  constructor(code: BleValueErrorCode, message: string) {
    super(message);
    this.name = "BleValueError";
    this.code = code;
  }
}

export interface FieldReaderOptions {
  /** Quirk `big-endian-sfloat`: the device sends SFLOATs high byte first. */
  bigEndianSfloat?: boolean;
}

export class FieldReader {
  readonly #bytes: Uint8Array;
  readonly #bigEndianSfloat: boolean;
  #offset = 0;

  constructor(bytes: Uint8Array, options: FieldReaderOptions = {}) {
    this.#bytes = bytes;
    this.#bigEndianSfloat = options.bigEndianSfloat ?? false;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #take(count: number): number[] {
    if (this.remaining < count) throw new BleValueError("truncated", `value ends ${count - this.remaining} byte(s) short at offset ${this.#offset}`);
    const taken = Array.from(this.#bytes.subarray(this.#offset, this.#offset + count));
    this.#offset += count;
    return taken;
  }

  u8(): number {
    const [a = 0] = this.#take(1);
    return a;
  }

  /** `bigEndian`: a quirk's device sends this field high byte first. */
  u16(bigEndian = false): number {
    const [a = 0, b = 0] = this.#take(2);
    return bigEndian ? (a << 8) | b : a | (b << 8);
  }

  s16(): number {
    const value = this.u16();
    return value >= 0x8000 ? value - 0x10000 : value;
  }

  u24(): number {
    const [a = 0, b = 0, c = 0] = this.#take(3);
    return a | (b << 8) | (c << 16);
  }

  /** `bigEndian`: a quirk's device sends this SFLOAT high byte first (default: the reader's option). */
  sfloat(bigEndian = this.#bigEndianSfloat): MedFloat {
    return decodeSfloat(this.u16(bigEndian));
  }

  float(): MedFloat {
    const [a = 0, b = 0, c = 0, d = 0] = this.#take(4);
    return decodeFloat((a | (b << 8) | (c << 16) | (d << 24)) >>> 0);
  }
}

/** Builds a characteristic value (the simulator's and the tests' side, and control-point requests). */
export class FieldWriter {
  readonly #bytes: number[] = [];

  u8(value: number): this {
    this.#bytes.push(value & 0xff);
    return this;
  }

  u16(value: number): this {
    return this.u8(value).u8(value >> 8);
  }

  u24(value: number): this {
    return this.u16(value).u8(value >> 16);
  }

  sfloat(value: MedFloat): this {
    return this.u16(encodeSfloat(value));
  }

  float(value: MedFloat): this {
    const raw = encodeFloat(value);
    return this.u16(raw & 0xffff).u16(raw >>> 16);
  }

  toBytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}
