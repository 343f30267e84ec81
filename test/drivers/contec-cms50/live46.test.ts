/** CMS50 firmware 4.6+ live frames, from bytes laid out by hand after the reverse-engineered protocol. */
import { describe, expect, it } from "vitest";
import { live46Decoder } from "../../../drivers/contec-cms50/live46.ts";
import { readings } from "../../helpers/decoderEvents.ts";

describe("CMS50 firmware 4.6+ 9-byte live frames", () => {
  const frame = (status: number, pr: number, spo2: number) => [0x01, status, 0x80, 0xc0, 0xc0, 0x80 | pr, 0x80 | spo2, 0xff, 0xff];

  it("reads pulse rate and SpO2 from the low 7 bits", () => {
    const [reading] = readings(live46Decoder().push(Uint8Array.from(frame(0xe0, 72, 97))));
    expect(reading?.observations.map((o) => [o.type, o.value])).toEqual([["spo2", 97], ["pulse_rate", 72]]);
  });

  it("flags finger out and searching without publishing the placeholder values", () => {
    const [reading] = readings(live46Decoder().push(Uint8Array.from(frame(0xe3, 0, 0))));
    expect(reading).toEqual({ kind: "continuous", observations: [], flags: ["sensor-off", "searching"] });
  });

  it("skips bytes until a frame with the fixed bits and FF FF tail, counting them", () => {
    const events = live46Decoder().push(Uint8Array.from([0x01, 0x22, 0xff, ...frame(0xe0, 70, 98)]));
    expect(readings(events)).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "discarded", bytes: 3 });
  });
});
