/**
 * The decoder behind fixed-length frame protocols (the CMS50 generations, Nonin format 8): frames are found by
 * their shape wherever the bytes are split, and what is not a frame is skipped and counted.
 * Tried on a toy protocol of 3-byte frames whose first byte alone has bit 7 set.
 */
import { describe, expect, it } from "vitest";
import type { DecoderEvent } from "../../../drivers/core/types.ts";
import { fixedFrameDecoder, onlyFirstByteHasBit7, type FixedFrameProtocol } from "../../../drivers/serial/fixedFrames.ts";
import { discarded, readings } from "../../helpers/decoderEvents.ts";

/** Frame: 0x80 | anything, then pulse rate, then SpO2, both 7-bit. */
const toy: FixedFrameProtocol = {
  length: 3,
  startsHere: (at) => onlyFirstByteHasBit7(at, 3),
  reading: (frame) => ({
    kind: "continuous",
    flags: [],
    observations: [
      { type: "pulse_rate", value: frame[1] ?? 0, unit: "/min", loinc: "8889-8" },
      { type: "spo2", value: frame[2] ?? 0, unit: "%", loinc: "59408-5" },
    ],
  }),
  mismatch: "not a toy frame",
};
const pulses = (events: DecoderEvent[]) => readings(events).map((reading) => reading.observations[0]?.value);

describe("fixedFrameDecoder", () => {
  it("reads back-to-back frames", () => {
    const events = fixedFrameDecoder(toy).push(Uint8Array.from([0x80, 72, 98, 0x81, 73, 97]));
    expect(pulses(events)).toEqual([72, 73]);
    expect(discarded(events)).toBe(0);
  });

  it("skips bytes until a frame starts, counts them once as a run with the protocol's reason", () => {
    const events = fixedFrameDecoder(toy).push(Uint8Array.from([5, 6, 0x90, 0x80, 72, 98]));
    expect(events[0]).toEqual({ type: "discarded", bytes: 3, reason: "not a toy frame" });
    expect(pulses(events)).toEqual([72]);
  });

  it("resynchronises after a frame cut short by a new start byte", () => {
    const events = fixedFrameDecoder(toy).push(Uint8Array.from([0x80, 72, 0x81, 73, 97]));
    expect(pulses(events)).toEqual([73]);
    expect(discarded(events)).toBe(2);
  });

  it("waits for the rest of a frame and gives the same readings wherever the bytes are split", () => {
    const bytes = Uint8Array.from([1, 0x80, 72, 98, 0x81, 73, 97, 0x82, 74, 96]);
    const whole = fixedFrameDecoder(toy).push(bytes);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = fixedFrameDecoder(toy);
      const events = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      expect(readings(events)).toEqual(readings(whole));
      expect(discarded(events)).toBe(1);
    }
  });
});

describe("onlyFirstByteHasBit7", () => {
  const at = (bytes: number[]) => (offset: number) => bytes[offset] ?? 0;

  it("is true only when byte 0 has bit 7 set and no later byte of the frame does", () => {
    expect(onlyFirstByteHasBit7(at([0x80, 0x7f, 0x00]), 3)).toBe(true);
    expect(onlyFirstByteHasBit7(at([0x7f, 0x10, 0x00]), 3)).toBe(false);
    expect(onlyFirstByteHasBit7(at([0x80, 0x10, 0x80]), 3)).toBe(false);
    expect(onlyFirstByteHasBit7(at([0x80, 0x10, 0x00, 0xff]), 3)).toBe(true);
  });
});
