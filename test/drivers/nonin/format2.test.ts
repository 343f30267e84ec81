/**
 * Nonin Data Format #2, from byte arrays worked out by hand from the specification.
 */
import { describe, expect, it } from "vitest";
import { format2Decoder } from "../../../drivers/nonin/format2.ts";
import { FRAMES_PER_PACKET } from "../../../drivers/nonin/packet.ts";
import { discarded, readings } from "../../helpers/decoderEvents.ts";

/** One frame: 01 STATUS PLETH DATA CHK with CHK = sum of the first four mod 256. */
function frame(status: number, pleth: number, data: number): number[] {
  return [0x01, status, pleth, data, (0x01 + status + pleth + data) & 0xff];
}

/** A packet with SpO2 97 and pulse rate 300 (MSB 0x02, LSB 0x2C), green perfusion, STAT2 as given. */
function packet({ status = 0x86, hrMsb = 0x02, hrLsb = 0x2c, spo2 = 97, stat2 = 0 } = {}): number[] {
  const data: Record<number, number> = { 0: hrMsb, 1: hrLsb, 2: spo2, 3: 0x2a, 7: stat2 };
  return Array.from({ length: FRAMES_PER_PACKET }, (_, i) => frame(status | (i === 0 ? 0x01 : 0), 0x40 + i, data[i] ?? 0)).flat();
}


describe("Nonin Format #2", () => {
  it("checks the frame arithmetic against a frame worked out by hand", () => {
    // 01 + 87 + 40 + 02 = CA
    expect(frame(0x87, 0x40, 0x02)).toEqual([0x01, 0x87, 0x40, 0x02, 0xca]);
  });

  it("decodes a packet into SpO2 and a 9-bit pulse rate", () => {
    const events = format2Decoder().push(Uint8Array.from(packet()));
    expect(readings(events)).toEqual([
      {
        kind: "continuous",
        observations: [
          { type: "spo2", value: 97, unit: "%", loinc: "59408-5" },
          { type: "pulse_rate", value: 300, unit: "/min", loinc: "8889-8" },
        ],
        flags: [],
      },
    ]);
    expect(discarded(events)).toBe(0);
  });

  it("leaves out values the device marks absent (HR 511, SpO2 127) and flags the sensor", () => {
    const events = format2Decoder().push(Uint8Array.from(packet({ status: 0x80 | 0x40 | 0x10, hrMsb: 0x03, hrLsb: 0x7f, spo2: 127 })));
    expect(readings(events)).toEqual([{ kind: "continuous", observations: [], flags: ["sensor-disconnected", "out-of-track"] }]);
  });

  it("turns status bits into flags: artifact, sensor alarm, red/yellow perfusion, low battery", () => {
    const red = readings(format2Decoder().push(Uint8Array.from(packet({ status: 0x80 | 0x20 | 0x08 | 0x02, stat2: 0x01 }))));
    expect(red[0]?.flags).toEqual(["artifact", "sensor-alarm", "low-perfusion", "low-battery"]);
    const yellow = readings(format2Decoder().push(Uint8Array.from(packet({ status: 0x80 | 0x04 }))));
    expect(yellow[0]?.flags).toEqual(["marginal-perfusion"]);
  });

  it("gives the same readings whatever offset the bytes are split at", () => {
    const bytes = Uint8Array.from([...packet(), ...packet({ spo2: 95 })]);
    const whole = readings(format2Decoder().push(bytes));
    for (let cut = 1; cut < bytes.length; cut++) {
      const decoder = format2Decoder();
      const events = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      expect(readings(events)).toEqual(whole);
    }
    expect(whole.map((reading) => reading.observations[0]?.value)).toEqual([97, 95]);
  });

  it("resynchronises after garbage and counts every byte it skips", () => {
    const garbage = [0x01, 0x99, 0x13, 0x37, 0xff, 0x00];
    const decoder = format2Decoder();
    const events = decoder.push(Uint8Array.from([...garbage, ...packet()]));
    expect(readings(events)).toHaveLength(1);
    expect(discarded(events)).toBe(garbage.length);
  });

  it("drops a packet with a corrupted frame, counts it, and decodes the next one", () => {
    const spoiled = packet();
    spoiled[5 * 10 + 3] = (spoiled[5 * 10 + 3] ?? 0) ^ 0x10; // DATA of frame 10: checksum no longer matches
    const events = format2Decoder().push(Uint8Array.from([...spoiled, ...packet({ spo2: 94 })]));
    expect(readings(events).map((reading) => reading.observations[0]?.value)).toEqual([94]);
    expect(discarded(events)).toBe(spoiled.length);
  });

  it("waits for packet sync before using frames", () => {
    const tail = packet().slice(5 * 20); // the last five frames of a packet, as after power-on
    const events = format2Decoder().push(Uint8Array.from([...tail, ...packet()]));
    expect(readings(events)).toHaveLength(1);
    expect(discarded(events)).toBe(tail.length);
  });
});
