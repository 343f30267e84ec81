/**
 * Vitals monitors that report HL7 v2 ORU^R01 (IHE PCD-01) over MLLP, on TCP (the monitor dials
 * the box, or the box dials the monitor) or on a serial line. Every message is acknowledged.
 */
import { z } from "zod";
import { defineDriver } from "../core/types.ts";
import { hl7Decoder } from "./decoder.ts";
import { MDC_OBSERVATIONS } from "./mdc.ts";
import { createHl7Simulator } from "./simulator.ts";

export const hl7Mllp = defineDriver({
  id: "hl7-mllp",
  name: "HL7 v2 ORU^R01 (IHE PCD-01) over MLLP",
  // Its MDC table (mdc.ts); anything else a monitor sends is published as device_numeric.
  measures: [...new Set(Object.values(MDC_OBSERVATIONS).map((entry) => entry.type))],
  kind: "spot",
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  // Usually on the network; on a serial line, through whatever adapter the site has.
  usb: [],
  optionsSchema: z.strictObject({
    /** Spot: every message is published. Continuous: a monitor streaming vitals, rate-limited. */
    kind: z.enum(["spot", "continuous"]).default("spot"),
  }),
  createDecoder: (options) => hl7Decoder({ kind: options.kind }),
  createSimulator: (_options, scenario) => createHl7Simulator(scenario),
});
