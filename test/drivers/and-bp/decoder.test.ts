/**
 * A&D blood-pressure monitor: RB measurements from byte arrays worked out by hand, and the
 * decoder on damaged input.
 */
import { describe, expect, it } from "vitest";
import { andDecoder } from "../../../drivers/and-bp/decoder.ts";
import { discarded, readings } from "../../helpers/decoderEvents.ts";

const RS = "\x1e";
const ascii = (text: string) => Array.from(text, (char) => char.charCodeAt(0));
const xor = (bytes: number[]) => bytes.reduce((sum, byte) => sum ^ byte, 0);
/** SYN SYN SOH "00" STX text ETX BCC, BCC = XOR from SOH through ETX. */
const textFrame = (text: string) => {
  const body = [0x01, 0x30, 0x30, 0x02, ...ascii(text), 0x03];
  return [0x16, 0x16, ...body, xor(body)];
};
const ACK = [0x16, 0x16, 0x01, 0x30, 0x30, 0x06];
const MEASURED = ["TM-2655", "2611231405", "0001", "0", "00", "S128", "M097", "D082", "P071", "C180", "A045"].join(RS);

describe("A&D RB measurements", () => {
  it("decodes a measurement into a spot reading with the monitor's time", () => {
    const events = andDecoder().push(Uint8Array.from(textFrame(MEASURED)));
    expect(readings(events)).toEqual([
      {
        kind: "spot",
        deviceTime: "2026-11-23T14:05:00",
        flags: [],
        observations: [
          { type: "systolic_bp", value: 128, unit: "mm[Hg]", loinc: "8480-6" },
          { type: "diastolic_bp", value: 82, unit: "mm[Hg]", loinc: "8462-4" },
          { type: "mean_bp", value: 97, unit: "mm[Hg]", loinc: "8478-0" },
          { type: "pulse_rate", value: 71, unit: "/min", loinc: "8889-8" },
        ],
      },
    ]);
    expect(events).toContainEqual({ type: "message", message: expect.objectContaining({ kind: "measurement" }) });
  });

  it("reports a failed measurement without values, and leaves out values that are not digits", () => {
    const failed = ["TM-2655", "2611231405", "0002", "0", "01", "S000", "M000", "D000", "P000", "C180", "A000"].join(RS);
    expect(readings(andDecoder().push(Uint8Array.from(textFrame(failed))))).toEqual([
      { kind: "spot", deviceTime: "2026-11-23T14:05:00", observations: [], flags: ["measurement-failed"] },
    ]);
    const partial = ["TM-2655", "9913991405", "0003", "0", "00", "S131", "M---", "D084", "P---"].join(RS);
    const [reading] = readings(andDecoder().push(Uint8Array.from(textFrame(partial))));
    expect(reading?.observations.map((o) => o.type)).toEqual(["systolic_bp", "diastolic_bp"]);
    expect(reading?.deviceTime).toBeUndefined(); // month 13 is no time: the receive time is used
  });

  it("publishes a measurement read again (RB) only once", () => {
    const decoder = andDecoder();
    expect(readings(decoder.push(Uint8Array.from(textFrame(MEASURED))))).toHaveLength(1);
    const again = decoder.push(Uint8Array.from([...ACK, ...textFrame(MEASURED)]));
    expect(readings(again)).toHaveLength(0);
    expect(again.filter((event) => event.type === "message")).toHaveLength(2); // the read still gets its answer
  });

  it("skips a frame with a wrong check byte or a text that is no measurement, and resynchronises", () => {
    const spoiled = textFrame(MEASURED);
    spoiled[12] = (spoiled[12] ?? 0) ^ 0x01;
    const events = andDecoder().push(Uint8Array.from([...spoiled, ...textFrame("hello"), 0xff, 0x00, ...textFrame(MEASURED)]));
    expect(readings(events)).toHaveLength(1);
    expect(discarded(events)).toBeGreaterThanOrEqual(spoiled.length + 2);
  });

  it("waits for the rest of a truncated frame and gives the same reading wherever the bytes are split", () => {
    const bytes = Uint8Array.from([...ACK, ...textFrame(MEASURED)]);
    const whole = readings(andDecoder().push(bytes));
    for (let cut = 1; cut < bytes.length; cut++) {
      const decoder = andDecoder();
      expect([...readings(decoder.push(bytes.subarray(0, cut))), ...readings(decoder.push(bytes.subarray(cut)))]).toEqual(whole);
    }
  });
});
