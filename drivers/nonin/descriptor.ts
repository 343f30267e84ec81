/** Nonin pulse oximeters on a serial line (OEM III modules, xPod, 3150 WristOx2 over USB). */
import { z } from "zod";
import { defineDriver } from "../types.ts";
import { Format2Decoder } from "./format2.ts";
import { format8Decoder } from "./format8.ts";
import { createNoninSimulator } from "./simulator.ts";

const optionsSchema = z.strictObject({
  /** Serial data format the device is set to: #2 (75 Hz frames) or #8 (one record a second). */
  format: z.union([z.literal(2), z.literal(8)], { error: "must be 2 or 8" }).default(2),
});
export const nonin = defineDriver({
  id: "nonin",
  name: "Nonin pulse oximeter (serial data formats #2 and #8)",
  measures: ["spo2", "pulse_rate"],
  kind: "continuous",
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  // Nonin's USB cables enumerate through an adapter whose ids vary by product and batch; match
  // these boxes by /dev/serial/by-id path until a site's adapter ids are recorded here.
  usb: [],
  optionsSchema,
  createDecoder: (options) => (options.format === 2 ? new Format2Decoder() : format8Decoder()),
  createSimulator: (options, scenario) => createNoninSimulator(options.format, scenario),
});
