/** Nellcor N-5xx pulse oximeters (N-560, N-595, N-600) printing real-time trend lines. */
import { z } from "zod";
import { lineDecoder } from "../serial/lineFramer.ts";
import { defineDriver } from "../core/types.ts";
import { parseNellcorLine } from "./parser.ts";
import { createNellcorSimulator } from "./simulator.ts";

export const nellcorAscii = defineDriver({
  id: "nellcor-ascii",
  name: "Nellcor N-5xx (ASCII real-time trend output)",
  measures: ["spo2", "pulse_rate"],
  kind: "continuous",
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  // The N-5xx monitors have an RS-232 port only: any USB-serial adapter reaches them, so match
  // by port path or by that adapter's ids.
  usb: [],
  optionsSchema: z.strictObject({}),
  createDecoder: () => lineDecoder(parseNellcorLine),
  createSimulator: (_options, scenario) => createNellcorSimulator(scenario),
});
