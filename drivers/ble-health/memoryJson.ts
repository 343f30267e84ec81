/**
 * A peripheral's BleHealthMemory as JSON, so that the agent can keep it across its restarts: a
 * glucose meter asked for "all records" again after an update would have every one published
 * twice. What comes back from disk is checked as strictly as remote input (a corrupt or foreign
 * file yields undefined, and the meter is read as if new).
 */
import { z } from "zod";
import { BleHealthMemory } from "./stream.ts";

const memorySchema = z.strictObject({
  glucoseCursor: z
    .strictObject({
      // A Glucose Measurement's Sequence Number is a uint16 (GLS v1.0.1, 3.106).
      sequenceNumber: z.int().min(0).max(0xffff),
      // As isoDeviceTime writes a base time: "2026-12-03T08:05:00".
      baseTime: z.string().max(32).optional(),
    })
    .optional(),
});

export function bleHealthMemoryToJson(memory: BleHealthMemory): z.input<typeof memorySchema> {
  return memory.glucoseCursor === undefined ? {} : { glucoseCursor: { ...memory.glucoseCursor } };
}

export function bleHealthMemoryFromJson(json: unknown): BleHealthMemory | undefined {
  const parsed = memorySchema.safeParse(json);
  if (!parsed.success) return undefined;
  const memory = new BleHealthMemory();
  const cursor = parsed.data.glucoseCursor;
  if (cursor !== undefined) memory.glucoseCursor = cursor.baseTime === undefined ? { sequenceNumber: cursor.sequenceNumber } : { sequenceNumber: cursor.sequenceNumber, baseTime: cursor.baseTime };
  return memory;
}
