import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bleHealthMemoryFromJson, bleHealthMemoryToJson } from "../../../drivers/ble-health/memoryJson.ts";
import { BleHealthMemory } from "../../../drivers/ble-health/stream.ts";

describe("a ble-health peripheral's memory as JSON", () => {
  it("round-trips the glucose cursor through JSON text", () => {
    const memory = new BleHealthMemory();
    memory.glucoseCursor = { sequenceNumber: 0xffff, baseTime: "2026-12-03T08:05:00" };
    const back = bleHealthMemoryFromJson(JSON.parse(JSON.stringify(bleHealthMemoryToJson(memory))));
    expect(back?.glucoseCursor).toEqual(memory.glucoseCursor);
    expect(bleHealthMemoryFromJson(bleHealthMemoryToJson(new BleHealthMemory()))?.glucoseCursor).toBeUndefined();
  });

  it("rejects what no cursor can be (a number beyond uint16, a foreign key, not an object)", () => {
    expect(bleHealthMemoryFromJson({ glucoseCursor: { sequenceNumber: 0x10000 } })).toBeUndefined();
    expect(bleHealthMemoryFromJson({ glucoseCursor: { sequenceNumber: 1.5 } })).toBeUndefined();
    expect(bleHealthMemoryFromJson({ glucoseCursor: { sequenceNumber: 1 }, other: 1 })).toBeUndefined();
    expect(bleHealthMemoryFromJson("cursor")).toBeUndefined();
  });

  it("never throws on arbitrary JSON read back from disk", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        bleHealthMemoryFromJson(value);
      }),
    );
  });
});
