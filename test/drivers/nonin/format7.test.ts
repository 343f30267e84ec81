/**
 * Nonin Data Format #7, from byte arrays worked out by hand from the xPod / WristOx2 3150
 * specification: frames STATUS PLETH-MSB PLETH-LSB DATA CHK, no start byte.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nonin } from "../../../drivers/nonin/descriptor.ts";
import { format7Decoder } from "../../../drivers/nonin/format7.ts";
import { FRAMES_PER_PACKET } from "../../../drivers/nonin/packet.ts";
import { discarded, readings } from "../../helpers/decoderEvents.ts";

function frame(status: number, pleth: number, data: number): number[] {
  const head = [status, pleth >> 8, pleth & 0xff, data];
  return [...head, head.reduce((sum, byte) => sum + byte, 0) & 0xff];
}

/** SpO2 95 and pulse rate 130 (MSB 0x01, LSB 0x02), green perfusion. */
function packet({ status = 0x86, hrMsb = 0x01, hrLsb = 0x02, spo2 = 95, stat2 = 0 } = {}): number[] {
  const data: Record<number, number> = { 0: hrMsb, 1: hrLsb, 2: spo2, 3: 0x2a, 7: stat2 };
  return Array.from({ length: FRAMES_PER_PACKET }, (_, i) => frame(status | (i === 0 ? 0x01 : 0), 0x8000 + i * 300, data[i] ?? 0)).flat();
}


describe("Nonin Format #7", () => {
  it("checks the frame arithmetic against a frame worked out by hand", () => {
    // 87 + 81 + 2C + 01 = 135 → 35
    expect(frame(0x87, 0x812c, 0x01)).toEqual([0x87, 0x81, 0x2c, 0x01, 0x35]);
  });

  it("decodes a packet into SpO2 and a 9-bit pulse rate", () => {
    const events = format7Decoder().push(Uint8Array.from(packet()));
    expect(readings(events)).toEqual([
      {
        kind: "continuous",
        observations: [
          { type: "spo2", value: 95, unit: "%", loinc: "59408-5" },
          { type: "pulse_rate", value: 130, unit: "/min", loinc: "8889-8" },
        ],
        flags: [],
      },
    ]);
    expect(discarded(events)).toBe(0);
  });

  it("leaves out the no-value markers and turns status bits into flags", () => {
    const off = readings(format7Decoder().push(Uint8Array.from(packet({ status: 0x80 | 0x40 | 0x10, hrMsb: 0x03, hrLsb: 0x7f, spo2: 127 }))));
    expect(off).toEqual([{ kind: "continuous", observations: [], flags: ["sensor-disconnected", "out-of-track"] }]);
    const red = readings(format7Decoder().push(Uint8Array.from(packet({ status: 0x80 | 0x20 | 0x02, stat2: 0x01 }))));
    expect(red[0]?.flags).toEqual(["artifact", "low-perfusion", "low-battery"]);
  });

  it("does not take Format #2 bytes for Format #7 frames", () => {
    // A #2 frame starts with 01, whose bit 7 is clear: no #7 frame can start there.
    const format2 = [0x01, 0x87, 0x40, 0x02, 0xca];
    const events = format7Decoder().push(Uint8Array.from([...format2, ...packet()]));
    expect(readings(events)).toHaveLength(1);
    expect(discarded(events)).toBe(format2.length);
  });

  it("resynchronises after garbage, drops a corrupted packet, and splits anywhere", () => {
    const spoiled = packet();
    spoiled[5 * 4 + 2] = (spoiled[5 * 4 + 2] ?? 0) ^ 0x01; // PLETH-LSB of frame 5: checksum fails
    const bytes = Uint8Array.from([0xff, 0x13, ...spoiled, ...packet({ spo2: 93 })]);
    const whole = readings(format7Decoder().push(bytes));
    expect(whole.map((reading) => reading.observations[0]?.value)).toEqual([93]);
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const decoder = format7Decoder();
      expect([...readings(decoder.push(bytes.subarray(0, cut))), ...readings(decoder.push(bytes.subarray(cut)))]).toEqual(whole);
    }
  });

  it("decodes its simulator (format: 7) with a finger taken out, and never throws on noise", () => {
    const simulator = nonin.simulator({ format: 7 }, "finger-out");
    const decoder = nonin.decoder({ format: 7 });
    const decoded = Array.from({ length: 45 }, (_, tick) => readings(decoder.push(simulator.chunk(tick)))).flat();
    expect(decoded).toHaveLength(45);
    expect(decoded.some((reading) => reading.observations.length === 2)).toBe(true);
    expect(decoded.some((reading) => reading.observations.length === 0 && reading.flags.includes("sensor-disconnected"))).toBe(true);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
        const fuzzed = format7Decoder();
        for (const chunk of chunks) {
          for (const reading of readings(fuzzed.push(chunk))) {
            for (const { type, value } of reading.observations) expect(type === "spo2" ? value <= 100 : value <= 350).toBe(true);
          }
        }
      }),
    );
  });
});
