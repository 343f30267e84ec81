/**
 * What a simulated patient and device do over time, shared by every driver's simulator. Pure
 * functions of elapsed time and tick number, so scenarios are reproducible byte for byte.
 */
export const SCENARIOS = ["normal", "finger-out", "garbled", "unplug"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface SimulatedVitals {
  /** Absent when the sensor is off the patient. */
  spo2?: number;
  pulseRate?: number;
  sensorOff: boolean;
}

/** A device's side of the line: every `intervalMs`, the bytes it sends for tick n. */
export interface DeviceSimulator {
  intervalMs: number;
  chunk(tick: number): Uint8Array;
  /** Bytes the host sent (commands); what the device answers at once, if anything. */
  receive?(bytes: Uint8Array): Uint8Array | undefined;
}

/** Seconds a finger-out cycle keeps the finger in, then out. */
const FINGER_IN_SEC = 6;
const FINGER_OUT_SEC = 4;

export function vitalsAt(scenario: Scenario, seconds: number): SimulatedVitals {
  if (scenario === "finger-out" && seconds % (FINGER_IN_SEC + FINGER_OUT_SEC) >= FINGER_IN_SEC) {
    return { sensorOff: true };
  }
  // Gentle, plausible variation: SpO2 96–98 %, pulse 68–76 /min.
  return {
    spo2: 97 + Math.round(Math.sin(seconds / 7)),
    pulseRate: 72 + Math.round(4 * Math.sin(seconds / 5)),
    sensorOff: false,
  };
}

/**
 * For the garbled scenario: every third chunk gets line noise — junk bytes before it and one
 * corrupted byte inside — the way a loose connector or a motor nearby spoils a serial line.
 */
export function garble(chunk: Uint8Array, tick: number): Uint8Array {
  if (tick % 3 !== 2 || chunk.length === 0) return chunk;
  const random = seeded(tick);
  const junk = Array.from({ length: 3 + Math.floor(random() * 5) }, () => Math.floor(random() * 256));
  const spoiled = Uint8Array.from(chunk);
  const at = Math.floor(random() * spoiled.length);
  spoiled[at] = (spoiled[at] ?? 0) ^ 0x5a;
  return Uint8Array.from([...junk, ...spoiled]);
}

/** A small deterministic PRNG (mulberry32). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
