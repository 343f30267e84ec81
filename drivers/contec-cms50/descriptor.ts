/**
 * Contec CMS50D+/E/F fingertip oximeters over their USB serial cable, both firmware generations.
 * Firmware 4.6+ must be asked for live data and reminded: the start command is resent as a
 * keep-alive every few seconds (the device falls silent otherwise).
 */
import { z } from "zod";
import { defineDriver } from "../core/types.ts";
import { legacyDecoder } from "./legacy.ts";
import { command, live46Decoder, START_LIVE_DATA } from "./live46.ts";
import { createContecSimulator } from "./simulator.ts";

const KEEP_ALIVE_MS = 5000;

export const contecCms50 = defineDriver({
  id: "contec-cms50",
  name: "Contec CMS50D+/E/F pulse oximeter (firmware before 4.6, and 4.6+)",
  measures: ["spo2", "pulse_rate"],
  kind: "continuous",
  serial: { baudRate: 115200, dataBits: 8, parity: "none", stopBits: 1 },
  serialFor: (options) =>
    options.firmware === "legacy"
      ? { baudRate: 19200, dataBits: 8, parity: "odd", stopBits: 1 }
      : { baudRate: 115200, dataBits: 8, parity: "none", stopBits: 1 },
  handshake: (options) =>
    options.firmware === "legacy"
      ? undefined
      : { onOpen: command(START_LIVE_DATA), keepAlive: { intervalMs: KEEP_ALIVE_MS, bytes: command(START_LIVE_DATA) } },
  // The USB cable holds a Silicon Labs CP2102 with the chip's default ids (usb.ids 10c4:ea60
  // "CP210x UART Bridge"); seen in the CMS50D+ (atbrask.dk/?p=244) and inside the CMS-50F
  // (experimental-engineering.co.uk teardown). Many other adapters use the same chip, so it is
  // generic: `usb: {}` takes it only while it is the only CP210x plugged in.
  usb: [{ vendorId: "10c4", productId: "ea60", note: "Silicon Labs CP2102 in the CMS50D+/E/F USB cable (generic chip)", generic: true }],
  optionsSchema: z.strictObject({
    /** "4.6" for firmware 4.6 and later (115200 baud, command-started), "legacy" for older (19200 8O1). */
    firmware: z.enum(["4.6", "legacy"], { error: 'must be "4.6" or "legacy"' }).default("4.6"),
  }),
  createDecoder: (options) => (options.firmware === "legacy" ? legacyDecoder() : live46Decoder()),
  createSimulator: (options, scenario) => createContecSimulator(options.firmware, scenario),
});
