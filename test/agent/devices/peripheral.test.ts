/**
 * PeripheralSession with an in-process port wired to a device simulator (the injectable `open`),
 * so timing behaviour — a keep-alive over half a minute — runs on fake timers, not real waiting.
 */
import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PeripheralSession } from "../../../agent/devices/peripheral.ts";
import type { PeripheralConfig } from "../../../config/schema.ts";
import { driverById } from "../../../drivers/index.ts";
import type { OpenPort, PortLike } from "../../../drivers/serial/link.ts";
import type { DeviceSimulator } from "../../../drivers/simulation.ts";

/** A port whose far end is a simulator: writes go to it, its chunks come back as data. */
function simulatedPort(simulator: DeviceSimulator): { open: OpenPort; writes: Uint8Array[] } {
  const writes: Uint8Array[] = [];
  const open: OpenPort = async () => {
    const events = new EventEmitter();
    let tick = 0;
    const timer = setInterval(() => {
      const chunk = simulator.chunk(tick++);
      if (chunk.length > 0) events.emit("data", Buffer.from(chunk));
    }, simulator.intervalMs);
    const port: PortLike = {
      onData: (listener) => events.on("data", listener),
      onClose: (listener) => events.once("close", listener),
      write: (bytes) => {
        writes.push(bytes);
        simulator.receive?.(bytes);
      },
      close: async () => {
        clearInterval(timer);
        events.emit("close");
      },
    };
    return port;
  };
  return { open, writes };
}

const contec = driverById("contec-cms50");
const config: PeripheralConfig = { id: "finger", driver: "contec-cms50", port: "/dev/fake", options: {}, publishRateHz: 1 };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("PeripheralSession with a command protocol (Contec firmware 4.6+)", () => {
  it("asks for live data on open and keeps the device streaming past its keep-alive timeout", async () => {
    if (!contec) throw new Error("contec-cms50 not registered");
    const { open, writes } = simulatedPort(contec.simulator({}, "normal"));
    const session = new PeripheralSession({ config, driver: contec, open });
    const readingTimes: number[] = [];
    session.on("reading", (_reading, at) => readingTimes.push(at.getTime()));
    const start = Date.now();
    session.start();
    await vi.advanceTimersByTimeAsync(30_000);
    await session.stop();

    expect(writes[0]).toEqual(Uint8Array.from([0x7d, 0x81, 0xa1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]));
    expect(writes.length).toBeGreaterThanOrEqual(6); // on open, then every 5 s
    // The simulated device falls silent 10 s after the last command; readings must still come in the last seconds.
    expect(readingTimes.some((at) => at - start > 28_000)).toBe(true);
  });

  it("without the keep-alive the same device falls silent (the simulator is strict)", async () => {
    if (!contec) throw new Error("contec-cms50 not registered");
    const simulator = contec.simulator({}, "normal");
    simulator.receive?.(contec.handshake({})?.onOpen ?? new Uint8Array(0));
    const ticksFor = (ms: number) => Math.round(ms / simulator.intervalMs);
    expect(simulator.chunk(0).length).toBeGreaterThan(0);
    expect(simulator.chunk(ticksFor(9_000)).length).toBeGreaterThan(0);
    expect(simulator.chunk(ticksFor(11_000)).length).toBe(0);
  });
});
