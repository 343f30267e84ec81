/**
 * The per-model quirks: each one, switched on, lets a value through that is otherwise a counted
 * discard; the table matches by the Device Information strings.
 */
import { describe, expect, it } from "vitest";
import { CHARACTERISTIC, decodeMeasurement } from "../../../drivers/ble-health/characteristics.ts";
import { QUIRKS, quirksFor, type QuirkEntry } from "../../../drivers/ble-health/quirks.ts";
import { hex, STAMP } from "./arbitraries.ts";

const BP = CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT;
const SYSTOLIC_120 = { type: "systolic_bp", value: 120 };

describe("quirk ignore-reserved-flags", () => {
  // Flags 0x80 | 0x04: a reserved bit set on a pulse-rate-bearing measurement.
  const value = hex("84 78 00 50 00 5D 00 47 00");

  it("is a counted discard without the quirk", () => {
    expect(decodeMeasurement(BP, value)).toMatchObject({ ok: false, code: "reserved-flags" });
  });

  it("decodes with the reserved bits masked off when the quirk is on", () => {
    const decoded = decodeMeasurement(BP, value, ["ignore-reserved-flags"]);
    expect(decoded.ok && decoded.reading.observations.map((o) => o.type)).toEqual(["systolic_bp", "diastolic_bp", "mean_bp", "pulse_rate"]);
  });
});

describe("quirk timestamp-despite-flag", () => {
  // Flags 0x00 (no time stamp), yet a Date Time follows the pressures.
  const value = hex(`00 78 00 50 00 5D 00 ${STAMP}`);

  it("is a counted discard without the quirk", () => {
    expect(decodeMeasurement(BP, value)).toMatchObject({ ok: false, code: "length-mismatch" });
  });

  it("reads the Date Time where the flag would have put it when the quirk is on", () => {
    expect(decodeMeasurement(BP, value, ["timestamp-despite-flag"])).toMatchObject({ ok: true, reading: { deviceTime: "2026-11-23T14:05:30" } });
  });

  it("still discards a value that is longer by anything but a Date Time", () => {
    expect(decodeMeasurement(BP, hex("00 78 00 50 00 5D 00 00 00"), ["timestamp-despite-flag"])).toMatchObject({ ok: false, code: "length-mismatch" });
  });
});

describe("quirk big-endian-sfloat", () => {
  // 120/80/93 mmHg high byte first.
  const value = hex("00 00 78 00 50 00 5D");

  it("reads nonsense without the quirk (0x7800 is 0 × 10^7), never the intended pressures", () => {
    const decoded = decodeMeasurement(BP, value);
    expect(decoded.ok && decoded.reading.observations).not.toContainEqual(expect.objectContaining(SYSTOLIC_120));
  });

  it("reads the pressures when the quirk is on", () => {
    const decoded = decodeMeasurement(BP, value, ["big-endian-sfloat"]);
    expect(decoded.ok && decoded.reading.observations.map((o) => o.value)).toEqual([120, 80, 93]);
  });
});

describe("the quirks table", () => {
  const table: QuirkEntry[] = [
    { manufacturer: "Maker A", model: "BP-1", quirks: ["big-endian-sfloat"], evidence: "test" },
    { manufacturer: "Maker A", quirks: ["ignore-reserved-flags"], evidence: "test" },
  ];

  it("matches manufacturer and model (trimmed), and maker-wide entries for every model", () => {
    expect(quirksFor({ manufacturer: " Maker A ", model: "BP-1" }, table)).toEqual(["big-endian-sfloat", "ignore-reserved-flags"]);
    expect(quirksFor({ manufacturer: "Maker A", model: "BP-2" }, table)).toEqual(["ignore-reserved-flags"]);
    expect(quirksFor({ manufacturer: "Maker B", model: "BP-1" }, table)).toEqual([]);
    expect(quirksFor({}, table)).toEqual([]);
  });

  it("ships only entries that name their evidence", () => {
    for (const entry of QUIRKS) expect(entry.evidence.length).toBeGreaterThan(0);
  });
});
