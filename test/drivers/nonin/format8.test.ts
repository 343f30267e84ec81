import { describe, expect, it } from "vitest";
import { format8Decoder } from "../../../drivers/nonin/format8.ts";
import { readings } from "../../helpers/decoderEvents.ts";


describe("Nonin Format #8", () => {
  it("decodes a record: pulse rate 300 = bits 8–7 in STATUS (0b10) and 0x2C in HR-LSB", () => {
    const events = format8Decoder().push(Uint8Array.from([0x82, 0x2c, 98, 0x00]));
    expect(readings(events)).toEqual([
      {
        kind: "continuous",
        observations: [
          { type: "spo2", value: 98, unit: "%", loinc: "59408-5" },
          { type: "pulse_rate", value: 300, unit: "/min", loinc: "8889-8" },
        ],
        flags: [],
      },
    ]);
  });

  it("flags the status bits, spot-check mode and battery, and leaves out absent values", () => {
    const [reading] = readings(format8Decoder().push(Uint8Array.from([0x80 | 0x40 | 0x20 | 0x10 | 0x08 | 0x04 | 0x03, 0x7f, 0x7f, 0x0d])));
    expect(reading).toEqual({
      kind: "spot",
      observations: [],
      flags: ["sensor-disconnected", "out-of-track", "low-perfusion", "marginal-perfusion", "artifact", "sensor-fault", "low-battery"],
    });
  });

  it("finds the next record start after garbage", () => {
    const events = format8Decoder().push(Uint8Array.from([0x12, 0x34, 0x81, 0xff, 0x80, 72, 97, 0x00]));
    expect(readings(events).map((r) => r.observations.map((o) => o.value))).toEqual([[97, 72]]);
    expect(events[0]).toEqual({ type: "discarded", bytes: 4, reason: expect.any(String) });
  });
});
