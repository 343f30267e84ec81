/** CMS50 legacy packets, from bytes laid out by hand after the reverse-engineered protocol. */
import { describe, expect, it } from "vitest";
import { legacyDecoder } from "../../../drivers/contec-cms50/legacy.ts";
import { readings } from "../../helpers/decoderEvents.ts";

describe("CMS50 legacy 5-byte packets", () => {
  it("reads a 9-bit pulse rate (bit 7 in byte 3) and SpO2", () => {
    // byte3 0x40 → pulse rate bit 7; byte4 0x0C → 128 + 12 = 140
    const [reading] = readings(legacyDecoder().push(Uint8Array.from([0x88, 0x30, 0x40, 0x0c, 96])));
    expect(reading?.observations.map((o) => [o.type, o.value])).toEqual([["spo2", 96], ["pulse_rate", 140]]);
    expect(reading?.flags).toEqual([]);
  });

  it("flags finger out (and leaves values out), searching and probe error", () => {
    const [out] = readings(legacyDecoder().push(Uint8Array.from([0x80 | 0x10, 0x00, 0x20 | 0x10, 0x7f, 0x7f])));
    expect(out).toEqual({ kind: "continuous", observations: [], flags: ["sensor-off", "searching", "sensor-fault"] });
  });

  it("resynchronises on the next byte with bit 7 set", () => {
    const events = legacyDecoder().push(Uint8Array.from([0x12, 0x85, 0x81, 0x20, 0x00, 0x48, 97]));
    expect(readings(events).map((r) => r.observations.map((o) => o.value))).toEqual([[97, 72]]);
    expect(events[0]).toMatchObject({ type: "discarded", bytes: 2 });
  });
});
