/** Masimo Rad-8 and Radical-7 pulse oximeters, serial output set to "ASCII 1". */
import { z } from "zod";
import { lineDecoder } from "../serial/lineFramer.ts";
import { defineDriver } from "../core/types.ts";
import { parseMasimoLine } from "./parser.ts";
import { createMasimoSimulator } from "./simulator.ts";

export const masimoAscii = defineDriver({
  id: "masimo-ascii",
  name: "Masimo Rad-8 / Radical-7 (ASCII 1 serial output)",
  measures: ["spo2", "pulse_rate", "perfusion_index", "pleth_variability_index"],
  kind: "continuous",
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  // The Rad-8 and Radical-7 have an RS-232 port only: any USB-serial adapter reaches them, so
  // match by port path or by that adapter's ids.
  usb: [],
  optionsSchema: z.strictObject({}),
  createDecoder: () => lineDecoder(parseMasimoLine),
  createSimulator: (_options, scenario) => createMasimoSimulator(scenario),
});
