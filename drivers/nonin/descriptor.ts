/** Nonin pulse oximeters on a serial line (OEM III modules, xPod, 3150 WristOx2 over USB). */
import { z } from "zod";
import { defineDriver } from "../core/types.ts";
import { format2Decoder } from "./format2.ts";
import { format7Decoder } from "./format7.ts";
import { format8Decoder } from "./format8.ts";
import { createNoninSimulator } from "./simulator.ts";

const optionsSchema = z.strictObject({
  /** Serial data format the device is set to: #2 or #7 (75 Hz frames, 8- or 16-bit pleth) or #8 (one record a second). */
  format: z.union([z.literal(2), z.literal(7), z.literal(8)], { error: "must be 2, 7 or 8" }).default(2),
});
export const nonin = defineDriver({
  id: "nonin",
  name: "Nonin pulse oximeter (serial data formats #2, #7 and #8)",
  measures: ["spo2", "pulse_rate"],
  kind: "continuous",
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  // Nonin's own USB devices carry Nonin's vendor id (usb.ids: 1c3d NONIN MEDICAL INC.). The
  // Xpod 3012LP USB instead enumerates as an FTDI FT232 with FTDI's default ids 0403:6001
  // (github.com/agricolab/app-nonin, nonin/device.py, finds it by exactly those): generic.
  usb: [
    { vendorId: "1c3d", note: "Nonin Medical USB devices (any product)" },
    { vendorId: "0403", productId: "6001", note: "FTDI FT232 in the Nonin Xpod 3012LP USB (generic chip)", generic: true },
  ],
  optionsSchema,
  createDecoder: (options) => ({ 2: format2Decoder, 7: format7Decoder, 8: format8Decoder })[options.format](),
  createSimulator: (options, scenario) => createNoninSimulator(options.format, scenario),
});
