/**
 * What the device simulators (`thea simulate`, the driver contract tests) are built from: a
 * deterministic random source, plausible vitals with a finger taken out on a fixed cycle, and line
 * noise on every third chunk, so a scenario plays the same way every run.
 */
import { describe, expect, it } from "vitest";
import { garble, seeded, vitalsAt } from "../../../drivers/core/simulation.ts";

describe("seeded", () => {
  it("repeats its sequence for a seed, differs between seeds, and stays in [0, 1)", () => {
    const take = (seed: number) => {
      const random = seeded(seed);
      return Array.from({ length: 200 }, () => random());
    };
    expect(take(7)).toEqual(take(7));
    expect(take(7)).not.toEqual(take(8));
    for (const value of take(7)) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });
});

describe("vitalsAt", () => {
  it("keeps a normal patient's SpO2 within 96–98 % and pulse within 68–76 /min", () => {
    for (let second = 0; second < 600; second++) {
      const vitals = vitalsAt("normal", second);
      expect(vitals.sensorOff).toBe(false);
      expect(vitals.spo2).toBeGreaterThanOrEqual(96);
      expect(vitals.spo2).toBeLessThanOrEqual(98);
      expect(vitals.pulseRate).toBeGreaterThanOrEqual(68);
      expect(vitals.pulseRate).toBeLessThanOrEqual(76);
    }
  });

  it("takes the finger out for 4 s of every 10, with no values while it is out", () => {
    const out = Array.from({ length: 20 }, (_, second) => vitalsAt("finger-out", second).sensorOff);
    expect(out).toEqual([...Array<boolean>(6).fill(false), ...Array<boolean>(4).fill(true), ...Array<boolean>(6).fill(false), ...Array<boolean>(4).fill(true)]);
    expect(vitalsAt("finger-out", 7)).toEqual({ sensorOff: true });
  });
});

describe("garble", () => {
  const chunk = Uint8Array.from({ length: 20 }, (_, i) => i);

  it("leaves two chunks of three as they are", () => {
    expect(garble(chunk, 0)).toBe(chunk);
    expect(garble(chunk, 1)).toBe(chunk);
    expect(garble(new Uint8Array(0), 2)).toHaveLength(0);
  });

  it("puts 3–7 junk bytes before every third chunk and spoils one byte of it, the same way each run", () => {
    for (const tick of [2, 5, 8, 11]) {
      const noisy = garble(chunk, tick);
      const junk = noisy.length - chunk.length;
      expect(junk).toBeGreaterThanOrEqual(3);
      expect(junk).toBeLessThanOrEqual(7);
      const kept = noisy.subarray(junk);
      expect([...kept].filter((byte, i) => byte !== chunk[i])).toHaveLength(1);
      expect([...garble(chunk, tick)]).toEqual([...noisy]);
    }
    expect([...chunk]).toEqual(Array.from({ length: 20 }, (_, i) => i)); // the input is not changed
  });
});
