/**
 * The monitor's side of an A&D line: ACKs ST/SP/RB (NAK when busy or with nothing to read),
 * measures for about a tick after ST and then sends the result by itself, as the monitor does at
 * the end of a measurement; RB sends the latest result again (the monitor keeps one from before
 * it was switched on). In the finger-out scenario (for a
 * cuff: not on the arm) every other measurement fails with an error code.
 */
import { garble, vitalsAt, type DeviceSimulator, type Scenario } from "../core/simulation.ts";
import { COMMAND_TEXT } from "./commands.ts";
import { AndFramer, encodeControl, encodeText } from "./frames.ts";
import { encodeMeasurement, type BpMeasurement } from "./measurement.ts";

const INTERVAL_MS = 2000;
const MODEL = "TM-2655";
/** The simulated monitor's clock starts here and runs with the ticks. */
const CLOCK_START = Date.UTC(2026, 0, 1, 8, 0, 0);
const CUFF_NOT_APPLIED = 1;

export function createBpSimulator(scenario: Scenario): DeviceSimulator {
  const framer = new AndFramer();
  let tick = 0;
  let measuringSince: number | undefined;
  let count = 0;
  let latest: string | undefined;

  const measure = (at = CLOCK_START + tick * INTERVAL_MS): string => {
    count += 1;
    const time = new Date(at).toISOString().slice(0, 16) + ":00";
    const failed = scenario === "finger-out" && count % 2 === 0;
    const systolic = 118 + (count % 7);
    const diastolic = 76 + (count % 5);
    const measurement: BpMeasurement = failed
      ? { model: MODEL, time, error: CUFF_NOT_APPLIED }
      : { model: MODEL, time, error: 0, systolic, diastolic, mean: Math.round(diastolic + (systolic - diastolic) / 3), pulseRate: vitalsAt("normal", tick * 2).pulseRate ?? 72 };
    return encodeMeasurement(measurement, count);
  };

  latest = measure(CLOCK_START - 3_600_000);

  const answer = (text: string): number[] => {
    if (text === COMMAND_TEXT.start) {
      if (measuringSince !== undefined) return [...encodeControl("nak")];
      measuringSince = tick;
      return [...encodeControl("ack")];
    }
    if (text === COMMAND_TEXT.stop) {
      measuringSince = undefined;
      return [...encodeControl("ack")];
    }
    if (text === COMMAND_TEXT.read) return latest === undefined ? [...encodeControl("nak")] : [...encodeControl("ack"), ...encodeText(latest)];
    return [...encodeControl("nak")];
  };

  return {
    intervalMs: INTERVAL_MS,
    chunk(now) {
      tick = now;
      if (measuringSince === undefined || now <= measuringSince) return new Uint8Array(0);
      measuringSince = undefined;
      latest = measure();
      const bytes = encodeText(latest);
      return scenario === "garbled" ? garble(bytes, now) : bytes;
    },
    receive(bytes) {
      const replies = framer.push(bytes).flatMap((event) => (event.type === "frame" && event.frame.kind === "text" ? answer(event.frame.text) : []));
      return replies.length > 0 ? Uint8Array.from(replies) : undefined;
    },
  };
}
