/**
 * Sony VISCA PTZ cameras (and the many compatible ones) over RS-232/422 at 9600 8N1, or over IP
 * (UDP 52381). Commands only: the driver publishes no readings.
 */
import { z } from "zod";
import { defineDriver } from "../core/types.ts";
import { visca } from "./codec.ts";
import { PTZ_COMMANDS } from "./commands.ts";
import { ViscaController } from "./controller.ts";
import { viscaDecoder } from "./decoder.ts";
import { IP_PAYLOAD, wrapIp } from "./framer.ts";
import { createCameraSimulator } from "./simulator.ts";

export const VISCA_IP_PORT = 52381;

export const viscaDriver = defineDriver({
  id: "visca",
  name: "Sony VISCA PTZ camera (serial, or IP on UDP 52381)",
  measures: [],
  kind: "spot",
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  // Serial: address set assigns camera addresses along the chain. IP: reset the sequence number.
  handshake: (options) => ({
    onOpen: options.transport === "ip" ? wrapIp(IP_PAYLOAD.CONTROL, 0, Uint8Array.from([0x01])) : visca.addressSet(),
  }),
  // RS-232/422 through whatever adapter the site has, or IP.
  usb: [],
  optionsSchema: z.strictObject({
    /** Camera address on the VISCA chain, 1–7 (replies come from 0x80 + address × 16). */
    address: z.int().min(1).max(7).default(1),
    /** "serial" for a port, "ip" for a camera reached with `udp`. */
    transport: z.enum(["serial", "ip"]).default("serial"),
    replyTimeoutMs: z.int().min(50).max(10_000).default(1000),
    completionTimeoutMs: z.int().min(100).max(60_000).default(15_000),
  }),
  createDecoder: (options) => viscaDecoder(options.transport),
  commands: Object.values(PTZ_COMMANDS),
  createController: (options, io) => new ViscaController(io, options),
  createSimulator: (options) => createCameraSimulator(options.address, options.transport),
});
