/**
 * A&D TM-2655-class automatic blood-pressure monitors on RS-232 (A&D's USB serial cable is
 * 0dbc:0003). The host starts, stops and reads measurements; a finished measurement is sent by
 * the monitor on its own and published as a spot reading.
 */
import { z } from "zod";
import { defineDriver } from "../core/types.ts";
import { BP_COMMANDS } from "./commands.ts";
import { AndController } from "./controller.ts";
import { andDecoder } from "./decoder.ts";
import { createBpSimulator } from "./simulator.ts";

export const andBp = defineDriver({
  id: "and-bp",
  name: "A&D TM-2655-class blood-pressure monitor (RS-232, RB output format)",
  measures: ["systolic_bp", "diastolic_bp", "mean_bp", "pulse_rate"],
  kind: "spot",
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  serialFor: (options) => ({ baudRate: options.baudRate, dataBits: 8, parity: "none", stopBits: 1 }),
  // A&D's own vendor id and product (usb.ids: 0dbc A&D Medical, 0003 "AND Serial Cable [AND Smart Cable]").
  usb: [{ vendorId: "0dbc", productId: "0003", note: "A&D Medical serial cable (AND Smart Cable)" }],
  optionsSchema: z.strictObject({
    /** The monitor's communication speed setting; some units ship set to 2400. */
    baudRate: z.union([z.literal(2400), z.literal(4800), z.literal(9600), z.literal(19200)], { error: "must be 2400, 4800, 9600 or 19200" }).default(9600),
    /** Two-character device address in every frame ("00" for a monitor on its own). */
    address: z.string().regex(/^[ -~]{2}$/, { error: "must be two printable characters" }).default("00"),
    replyTimeoutMs: z.int().min(50).max(10_000).default(1000),
    readTimeoutMs: z.int().min(100).max(30_000).default(3000),
  }),
  createDecoder: () => andDecoder(),
  commands: Object.values(BP_COMMANDS),
  measureCommand: BP_COMMANDS.start.name,
  createController: (options, io) => new AndController(io, options),
  createSimulator: (_options, scenario) => createBpSimulator(scenario),
});
