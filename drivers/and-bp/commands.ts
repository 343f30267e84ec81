/** What the blood-pressure monitor can be asked to do over MQTT (parameters besides `peripheral`). */
import { z } from "zod";
import type { DeviceCommandSpec } from "../core/types.ts";

export const BP_COMMANDS = {
  start: {
    name: "bp.start",
    description: "Start a measurement (the cuff inflates); the result is published as a spot reading when it is done.",
    params: z.strictObject({}),
    sideEffects: true,
  },
  stop: { name: "bp.stop", description: "Stop a measurement in progress (the cuff deflates).", params: z.strictObject({}) },
  read: { name: "bp.read", description: "The monitor's latest measurement: time, systolic, diastolic, mean, pulse rate.", params: z.strictObject({}) },
} as const satisfies Record<string, DeviceCommandSpec>;

/** Host command texts (A&D RB protocol). */
export const COMMAND_TEXT = { start: "ST", stop: "SP", read: "RB" } as const;
