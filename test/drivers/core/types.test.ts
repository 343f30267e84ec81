/**
 * `defineDriver`, the boundary between a family's descriptor and the agent: options checked with
 * each problem at its key, a peripheral's memory opaque to everyone but its own driver, protocol
 * messages handed to the controller and never published, and a clear error for a command sent to
 * a device that takes none. Tried on a toy family: one byte is one reading, 0xFE is a reply.
 */
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { DeviceCommandError, defineDriver, type DecoderEvent, type DeviceController, type DeviceIo } from "../../../drivers/core/types.ts";

const SERIAL = { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 } as const;
const toyDecoder = (offset: number) => ({
  push: (chunk: Uint8Array): DecoderEvent[] =>
    [...chunk].map((byte) =>
      byte === 0xfe
        ? { type: "message", message: "done" }
        : { type: "reading", reading: { kind: "continuous", flags: [], observations: [{ type: "pulse_rate", value: byte + offset, unit: "/min", loinc: "8889-8" }] } },
    ),
});

/** A toy controller that remembers the messages it was handed. */
function toyController(io: DeviceIo, handled: unknown[]): DeviceController {
  return {
    handle: (message) => handled.push(message),
    execute: (command) => Promise.resolve({ command, sent: io.send(Uint8Array.from([0x01])) }),
    disconnected: () => handled.push("disconnected"),
  };
}

function toyDriver(handled: unknown[] = [], withController = true) {
  return defineDriver({
    id: "toy",
    name: "Toy",
    measures: ["pulse_rate"],
    kind: "continuous",
    serial: SERIAL,
    usb: [],
    optionsSchema: z.strictObject({ offset: z.int().min(0).max(10).default(0) }),
    createMemory: () => ({ seen: 0 }),
    memoryToJson: (memory) => ({ seen: memory.seen }),
    memoryFromJson: (json) => (json !== null && typeof json === "object" && "seen" in json && typeof json.seen === "number" ? { seen: json.seen } : undefined),
    createDecoder: (options) => toyDecoder(options.offset),
    createSimulator: () => ({ intervalMs: 1000, chunk: () => Uint8Array.from([70]) }),
    ...(withController ? { createController: (_options: unknown, io: DeviceIo) => toyController(io, handled) } : {}),
  });
}

describe("defineDriver", () => {
  it("checks a peripheral's options and names the key of each problem; no options are the defaults", () => {
    const driver = toyDriver();
    expect(driver.checkOptions(undefined)).toEqual([]);
    expect(driver.checkOptions({ offset: 3 })).toEqual([]);
    const problems = driver.checkOptions({ offset: 11, colour: "red" });
    expect(problems.map((problem) => problem.path)).toEqual(expect.arrayContaining([["offset"], []]));
    for (const problem of problems) expect(problem.message).toEqual(expect.any(String));
  });

  it("builds a decoder with the parsed options", () => {
    const events = toyDriver().decoder({ offset: 2 }).push(Uint8Array.from([70]));
    expect(events).toEqual([{ type: "reading", reading: expect.objectContaining({ observations: [expect.objectContaining({ value: 72 })] }) }]);
  });

  it("keeps a peripheral's memory behind a handle only its own driver can read, and restores it after a restart", () => {
    const driver = toyDriver();
    const handle = driver.memory();
    expect(handle).toEqual({ driver: "toy" });
    expect(driver.memoryJson(handle)).toEqual({ seen: 0 });
    expect(toyDriver().memoryJson(handle)).toBeUndefined(); // another driver object cannot look inside
    const restored = driver.restoreMemory({ seen: 4 });
    expect(restored && driver.memoryJson(restored)).toEqual({ seen: 4 });
    expect(driver.restoreMemory({ seen: "four" })).toBeUndefined();
  });

  it("hands protocol messages to the controller and never publishes them", async () => {
    const handled: unknown[] = [];
    const sent: Uint8Array[] = [];
    const instance = toyDriver(handled).instantiate({}, { send: (bytes) => sent.push(bytes) > 0 });
    const events: string[] = [];
    instance.push(Uint8Array.from([70, 0xfe, 71]), (event) => events.push(event.type));
    expect(events).toEqual(["reading", "reading"]);
    expect(handled).toEqual(["done"]);
    await expect(instance.execute("toy.go", {})).resolves.toEqual({ command: "toy.go", sent: true });
    expect(sent).toHaveLength(1);
    instance.disconnected();
    expect(handled).toEqual(["done", "disconnected"]);
  });

  it("refuses a command to a device that takes none with unsupported-command", async () => {
    const instance = toyDriver([], false).instantiate({}, { send: () => true });
    const refused = instance.execute("toy.go", {});
    await expect(refused).rejects.toBeInstanceOf(DeviceCommandError);
    await expect(refused).rejects.toMatchObject({ code: "unsupported-command" });
    expect(() => instance.disconnected()).not.toThrow();
  });
});
