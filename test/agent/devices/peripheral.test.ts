/**
 * Peripheral with an in-process port wired to a device simulator (the injectable `open`),
 * so timing behaviour — a keep-alive over half a minute — runs on fake timers, not real waiting.
 */
import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Peripheral } from "../../../agent/devices/peripheral.ts";
import type { PeripheralConfig } from "../../../config/schema.ts";
import { driverById } from "../../../drivers/index.ts";
import type { OpenPort, PortLike } from "../../../drivers/serial/link.ts";
import type { PeripheralState } from "../../../agent/core/api.ts";
import type { DeviceSimulator } from "../../../drivers/core/simulation.ts";
import type { ReadingOutbox } from "../../../agent/devices/readingPath.ts";
import type { NewEntry } from "../../../agent/outbox/store.ts";

/** The far end of a simulated port: it can fall quiet (switched off) or be replaced (switched on again). */
interface SimulatedDevice {
  simulator: DeviceSimulator;
  quiet: boolean;
}

/** A port whose far end is a simulator: writes go to it, its chunks come back as data. */
function simulatedPort(simulator: DeviceSimulator): { open: OpenPort; writes: Uint8Array[]; device: SimulatedDevice } {
  const writes: Uint8Array[] = [];
  const device: SimulatedDevice = { simulator, quiet: false };
  const open: OpenPort = async () => {
    const events = new EventEmitter();
    let tick = 0;
    const timer = setInterval(() => {
      const chunk = device.simulator.chunk(tick++);
      if (chunk.length > 0 && !device.quiet) events.emit("data", Buffer.from(chunk));
    }, device.simulator.intervalMs);
    const port: PortLike = {
      onData: (listener) => events.on("data", listener),
      onClose: (listener) => events.once("close", listener),
      write: (bytes) => {
        writes.push(bytes);
        if (!device.quiet) device.simulator.receive?.(bytes);
      },
      close: async () => {
        clearInterval(timer);
        events.emit("close");
      },
    };
    return port;
  };
  return { open, writes, device };
}

/** The outbox's part for a peripheral: what its reading path stored. */
function outbox(): ReadingOutbox & { entries: NewEntry[] } {
  const entries: NewEntry[] = [];
  return { entries, enqueue: (entry) => entries.push(entry) };
}
const wiring = () => ({ outbox: outbox(), readingTopic: "thea/v1/box/peripherals/finger/reading" });

const contec = driverById("contec-cms50");
const config: PeripheralConfig = { id: "finger", driver: "contec-cms50", port: "/dev/fake", options: {}, publishRateHz: 1, silentAfterSec: 10 };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Peripheral with a command protocol (Contec firmware 4.6+)", () => {
  it("asks for live data on open and keeps the device streaming past its keep-alive timeout", async () => {
    if (!contec) throw new Error("contec-cms50 not registered");
    const { open, writes } = simulatedPort(contec.simulator({}, "normal"));
    const stored = outbox();
    const session = new Peripheral({ config, driver: contec, open, outbox: stored, readingTopic: "thea/v1/box/peripherals/finger/reading" });
    const start = Date.now();
    session.start();
    await vi.advanceTimersByTimeAsync(30_000);
    await session.stop();

    expect(writes[0]).toEqual(Uint8Array.from([0x7d, 0x81, 0xa1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]));
    expect(writes.length).toBeGreaterThanOrEqual(6); // on open, then every 5 s
    // The simulated device falls silent 10 s after the last command; readings must still come in the last seconds.
    expect(stored.entries.some((entry) => entry.createdAt - start > 28_000)).toBe(true);
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

describe("Peripheral and a device switched off with its cable still in", () => {
  const nonin = driverById("nonin");
  const andBp = driverById("and-bp");

  function watch(session: Peripheral): PeripheralState[] {
    const changes: PeripheralState[] = [];
    session.on("connection", (state) => changes.push(state));
    return changes;
  }

  it("reports a continuous device that goes quiet as disconnected, and connected again when it talks", async () => {
    if (!nonin) throw new Error("nonin not registered");
    const { open, device } = simulatedPort(nonin.simulator({}, "normal"));
    const session = new Peripheral({ config: { ...config, driver: "nonin", silentAfterSec: 10 }, driver: nonin, open, ...wiring() });
    const changes = watch(session);
    session.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(changes.map((state) => state.connected)).toEqual([true]);

    device.quiet = true;
    await vi.advanceTimersByTimeAsync(9_000);
    expect(changes).toHaveLength(1); // not yet: 9 s of silence
    await vi.advanceTimersByTimeAsync(2_000);
    expect(changes[1]).toMatchObject({ connected: false, lastError: "no data from the device for 10 s (switched off?)" });
    await expect(session.execute("anything", {})).rejects.toMatchObject({ code: "device-unavailable" });

    device.quiet = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(changes[2]).toMatchObject({ connected: true, lastError: null });
    await session.stop();
  });

  it("brings back a device that streams only when asked once it is switched on again (its keep-alive asks it)", async () => {
    if (!contec) throw new Error("contec-cms50 not registered");
    const { open, device } = simulatedPort(contec.simulator({}, "normal"));
    const session = new Peripheral({ config: { ...config, silentAfterSec: 5 }, driver: contec, open, ...wiring() });
    const changes = watch(session);
    session.start();
    await vi.advanceTimersByTimeAsync(2_000);

    device.quiet = true; // switched off…
    await vi.advanceTimersByTimeAsync(6_000);
    expect(changes.at(-1)).toMatchObject({ connected: false });
    device.simulator = contec.simulator({}, "normal"); // …and on again: it streams only when asked
    device.quiet = false;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(changes.at(-1)).toMatchObject({ connected: true });
    await session.stop();
  });

  it("does not judge a spot device by its silence between measurements, nor any device when turned off", async () => {
    if (!andBp || !nonin) throw new Error("drivers not registered");
    const cuff = simulatedPort(andBp.simulator({}, "normal"));
    cuff.device.quiet = true;
    const spot = new Peripheral({ config: { ...config, driver: "and-bp", silentAfterSec: 10 }, driver: andBp, open: cuff.open, ...wiring() });
    const oximeter = simulatedPort(nonin.simulator({}, "normal"));
    oximeter.device.quiet = true;
    const unjudged = new Peripheral({ config: { ...config, driver: "nonin", silentAfterSec: 0 }, driver: nonin, open: oximeter.open, ...wiring() });
    const changes = [watch(spot), watch(unjudged)];
    spot.start();
    unjudged.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(changes.map((list) => list.map((state) => state.connected))).toEqual([[true], [true]]);
    await Promise.all([spot.stop(), unjudged.stop()]);
  });
});
