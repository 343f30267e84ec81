/**
 * The per-model quirks: for each one, a value bent the way it describes is a counted discard
 * without it and decodes to the right reading with it (one case per quirk, enforced by the type);
 * the table matches devices by their advertised name or Device Information strings, and its
 * Beurer BM85 entry decodes values recorded from that monitor (published with its evidence).
 */
import { describe, expect, it } from "vitest";
import { BleHealthDecoder, CHARACTERISTIC, decodeMeasurement } from "../../../drivers/ble-health/characteristics.ts";
import { QUIRK_IDS, QUIRKS, quirksFor, type QuirkEntry, type QuirkId } from "../../../drivers/ble-health/quirks.ts";
import type { DeviceReading } from "../../../drivers/core/types.ts";
import { discarded, readings } from "../../helpers/decoderEvents.ts";
import { hex, STAMP } from "./arbitraries.ts";

const BP = CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT;
const mmHg = (type: string, value: number) => expect.objectContaining({ type, value, unit: "mm[Hg]" });
const pulse = (value: number) => expect.objectContaining({ type: "pulse_rate", value, unit: "/min" });

interface QuirkCase {
  /** What is bent, in the value below. */
  bend: string;
  characteristic: number;
  value: string;
  /** The discard's code without the quirk. */
  without: "reserved-flags" | "length-mismatch" | "implausible-value";
  /** What the reading holds with the quirk. */
  reading: Partial<DeviceReading>;
}

const CASES = {
  "ignore-reserved-flags": {
    bend: "flags 0x84: reserved bit 7 set on a value with a pulse rate",
    characteristic: BP,
    value: "84 78 00 50 00 5D 00 47 00",
    without: "reserved-flags",
    reading: { observations: [mmHg("systolic_bp", 120), mmHg("diastolic_bp", 80), mmHg("mean_bp", 93), pulse(71)] },
  },
  "timestamp-despite-flag": {
    bend: "flags 0x00, yet a Date Time follows the pressures",
    characteristic: BP,
    value: `00 78 00 50 00 5D 00 ${STAMP}`,
    without: "length-mismatch",
    reading: { deviceTime: "2026-11-23T14:05:30" },
  },
  "user-id-despite-flag": {
    bend: "flags 0x04 (pulse rate only), yet a User ID (1) follows the pulse",
    characteristic: BP,
    value: "04 78 00 50 00 5D 00 47 00 01",
    without: "length-mismatch",
    reading: { observations: [mmHg("systolic_bp", 120), mmHg("diastolic_bp", 80), mmHg("mean_bp", 93), pulse(71)] },
  },
  "big-endian-sfloat": {
    bend: "120/80/93 mmHg high byte first (read little-endian, 0x7800 is -2048 × 10^7)",
    characteristic: BP,
    value: "00 00 78 00 50 00 5D",
    without: "implausible-value",
    reading: { observations: [mmHg("systolic_bp", 120), mmHg("diastolic_bp", 80), mmHg("mean_bp", 93)] },
  },
  "big-endian-pulse-and-status": {
    bend: "pulse 00 47 and status 00 04 high byte first, pressures little-endian (read little-endian, the pulse is 1792 × 10^4)",
    characteristic: BP,
    value: "14 78 00 50 00 5D 00 00 47 00 04",
    without: "implausible-value",
    reading: { observations: [mmHg("systolic_bp", 120), mmHg("diastolic_bp", 80), mmHg("mean_bp", 93), pulse(71)], flags: ["irregular-pulse"] },
  },
  "mean-pressure-zero-absent": {
    bend: "mean pressure 0 (below the diastolic: no pressure curve) where the device has none",
    characteristic: BP,
    value: "00 78 00 50 00 00 00",
    without: "implausible-value",
    reading: { observations: [mmHg("systolic_bp", 120), mmHg("diastolic_bp", 80)] },
  },
} as const satisfies Record<QuirkId, QuirkCase>;

describe.each(QUIRK_IDS.map((id) => [id, CASES[id]] as const))("quirk %s", (id, { bend, characteristic, value, without, reading }) => {
  const bytes = hex(value);

  it(`discards and counts the value without it (${bend})`, () => {
    const events = new BleHealthDecoder().decode(characteristic, bytes);
    expect(readings(events)).toEqual([]);
    expect(discarded(events)).toBe(bytes.length);
    expect(decodeMeasurement(characteristic, bytes)).toMatchObject({ ok: false, code: without });
  });

  it("decodes it to the intended reading with it", () => {
    const events = new BleHealthDecoder({ quirks: [id] }).decode(characteristic, bytes);
    expect(discarded(events)).toBe(0);
    expect(readings(events)).toEqual([expect.objectContaining(reading)]);
  });
});

describe("quirks stay within what they name", () => {
  it("timestamp-despite-flag still discards a value longer by anything but a Date Time", () => {
    expect(decodeMeasurement(BP, hex("00 78 00 50 00 5D 00 00 00"), ["timestamp-despite-flag"])).toMatchObject({ ok: false, code: "length-mismatch" });
  });

  it("big-endian-pulse-and-status leaves the pressures little-endian", () => {
    expect(decodeMeasurement(BP, hex("00 00 78 00 50 00 5D"), ["big-endian-pulse-and-status"])).toMatchObject({ ok: false, code: "implausible-value" });
  });

  it("mean-pressure-zero-absent keeps a mean pressure that is not 0", () => {
    const decoded = decodeMeasurement(BP, hex("00 78 00 50 00 5D 00"), ["mean-pressure-zero-absent"]);
    expect(decoded.ok && decoded.reading.observations).toContainEqual(mmHg("mean_bp", 93));
  });
});

describe("the quirks table", () => {
  const table: QuirkEntry[] = [
    { manufacturer: "Maker A", model: "BP-1", quirks: ["big-endian-sfloat"], evidence: "test" },
    { manufacturer: "Maker A", quirks: ["ignore-reserved-flags"], evidence: "test" },
    { advertisedName: "Cuff 9", quirks: ["user-id-despite-flag"], evidence: "test" },
  ];

  it("matches manufacturer and model (trimmed), maker-wide entries for every model, and advertised names", () => {
    expect(quirksFor({ manufacturer: " Maker A ", model: "BP-1" }, table)).toEqual(["big-endian-sfloat", "ignore-reserved-flags"]);
    expect(quirksFor({ manufacturer: "Maker A", model: "BP-2" }, table)).toEqual(["ignore-reserved-flags"]);
    expect(quirksFor({ manufacturer: "Maker B", model: "BP-1" }, table)).toEqual([]);
    expect(quirksFor({ advertisedName: "Cuff 9 " }, table)).toEqual(["user-id-despite-flag"]);
    expect(quirksFor({ advertisedName: "Cuff 90" }, table)).toEqual([]);
    expect(quirksFor({}, table)).toEqual([]);
  });

  it("ships only entries that name a device and their evidence", () => {
    for (const entry of QUIRKS) {
      expect(entry.evidence.length).toBeGreaterThan(20);
      expect(entry.advertisedName ?? entry.manufacturer).toBeTruthy();
    }
  });
});

describe("Beurer BM85 (values recorded from one, published in derdilla/blood-pressure-monitor-fl #735 and #737)", () => {
  const BM85 = quirksFor({ advertisedName: "Beurer BM85" });
  // Flags 0x56: reserved bit 6, time stamp, pulse rate, status (no User ID flag); 106/71 mmHg,
  // mean 0; 2026-08-11 18:31:00; pulse 00 3F; User ID 0; status 00 00.
  const FIRST_USER = "56 6A 00 47 00 00 00 EA 07 08 0B 12 1F 00 00 3F 00 00 00";
  // 118/80 mmHg at 20:27, pulse 60, status 00 04: irregular pulse.
  const IRREGULAR = "56 76 00 50 00 00 00 EA 07 08 0B 14 1B 00 00 3C 00 00 04";

  it("is in the table with the four quirks its values need", () => {
    expect(BM85.toSorted()).toEqual(["big-endian-pulse-and-status", "ignore-reserved-flags", "mean-pressure-zero-absent", "user-id-despite-flag"]);
  });

  it("decodes its values with them", () => {
    const decoder = new BleHealthDecoder({ quirks: BM85 });
    expect(readings(decoder.decode(BP, hex(FIRST_USER)))).toEqual([
      { kind: "spot", deviceTime: "2026-08-11T18:31:00", flags: [], observations: [mmHg("systolic_bp", 106), mmHg("diastolic_bp", 71), pulse(63)] },
    ]);
    expect(readings(decoder.decode(BP, hex(IRREGULAR)))).toEqual([
      { kind: "spot", deviceTime: "2026-08-11T20:27:00", flags: ["irregular-pulse"], observations: [mmHg("systolic_bp", 118), mmHg("diastolic_bp", 80), pulse(60)] },
    ]);
    expect(decodeMeasurement(BP, hex(FIRST_USER), BM85)).toMatchObject({ ok: true, measurement: { userId: 0 } });
  });

  it("discards and counts them without", () => {
    const events = new BleHealthDecoder().decode(BP, hex(FIRST_USER));
    expect(readings(events)).toEqual([]);
    expect(discarded(events)).toBe(19);
  });
});
