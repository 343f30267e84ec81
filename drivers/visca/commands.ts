/** The PTZ commands a VISCA camera takes, as MQTT commands (parameters besides `peripheral`). */
import { z } from "zod";
import type { DeviceCommandSpec } from "../core/types.ts";
import { MAX_PAN_SPEED } from "./codec.ts";

const speed = z.int().min(1).max(MAX_PAN_SPEED);
const preset = z.int().min(0).max(127);

export const DIRECTIONS = ["up", "down", "left", "right", "up-left", "up-right", "down-left", "down-right"] as const;

export const PTZ_COMMANDS = {
  move: { name: "ptz.move", description: "Start moving in a direction until ptz.stop.", params: z.strictObject({ direction: z.enum(DIRECTIONS), speed: speed.default(8) }) },
  stop: { name: "ptz.stop", description: "Stop panning and tilting.", params: z.strictObject({}) },
  goto: {
    name: "ptz.goto",
    description: "Go to an absolute pan/tilt position (camera units).",
    params: z.strictObject({ pan: z.int().min(-32768).max(32767), tilt: z.int().min(-32768).max(32767), speed: speed.default(12) }),
  },
  zoom: {
    name: "ptz.zoom",
    description: "Zoom in/out at a speed until stopped, or to an absolute position.",
    params: z
      .strictObject({ direction: z.enum(["in", "out", "stop"]).optional(), speed: z.int().min(0).max(7).default(3), position: z.int().min(0).max(0x7fff).optional() })
      .refine((zoom) => (zoom.direction === undefined) !== (zoom.position === undefined), { error: "give either direction or position" }),
  },
  presetSet: { name: "ptz.preset.set", description: "Store the current position as a preset.", params: z.strictObject({ preset }) },
  presetRecall: { name: "ptz.preset.recall", description: "Move to a stored preset.", params: z.strictObject({ preset }) },
  position: { name: "ptz.position", description: "Current pan, tilt and zoom (camera units).", params: z.strictObject({}) },
} as const satisfies Record<string, DeviceCommandSpec>;
