/**
 * The contract every driver in the registry passes (one shared suite, as MQTT.js does for its
 * stores): its simulator's bytes decode to readings in the published shape, split anywhere;
 * garbage never throws and never yields a value outside the observation's range.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { DRIVERS } from "../../drivers/index.ts";
import { DEVICE_NUMERIC, OBSERVATIONS } from "../../drivers/core/observations.ts";
import { SCENARIOS, type Scenario } from "../../drivers/core/simulation.ts";
import { READING_FLAGS, type DecoderEvent, type DeviceReading, type Driver } from "../../drivers/core/types.ts";
import { readings } from "../helpers/decoderEvents.ts";


function expectWellFormed(reading: DeviceReading): void {
  expect(["continuous", "spot"]).toContain(reading.kind);
  for (const flag of reading.flags) expect(READING_FLAGS).toContain(flag);
  for (const observation of reading.observations) {
    if (observation.type === DEVICE_NUMERIC) {
      // A device's own code for something the catalogue lacks: a finite number, bounded text.
      expect(Number.isFinite(observation.value)).toBe(true);
      for (const text of [observation.code, observation.codeName ?? "", observation.codeSystem ?? "", observation.unit]) expect(text.length).toBeLessThanOrEqual(64);
      continue;
    }
    const spec = OBSERVATIONS[observation.type];
    expect(observation.unit).toBe(spec.unit);
    expect(observation.value).toBeGreaterThanOrEqual(spec.min);
    expect(observation.value).toBeLessThanOrEqual(spec.max);
  }
}

const reporting = DRIVERS.filter((driver) => driver.measures.length > 0);
const commanded = DRIVERS.filter((driver) => driver.commands.length > 0);
/** Drivers whose simulator's bytes the decoder answers (HL7 ACKs). */
const REPLYING = ["hl7-mllp"];

/** Example parameters for each device command, so every declared command is exercised. */
const EXAMPLE_PARAMS: Record<string, unknown> = {
  "ptz.move": { direction: "up-left" },
  "ptz.stop": {},
  "ptz.goto": { pan: -1200, tilt: 300 },
  "ptz.zoom": { position: 0x2000 },
  "ptz.preset.set": { preset: 3 },
  "ptz.preset.recall": { preset: 3 },
  "ptz.position": {},
};

describe.each(commanded.map((driver) => [driver.id, driver] as const))("commanded driver %s", (_id, driver) => {
  it("answers every declared command through its session against its simulator", async () => {
    const simulator = driver.simulator({}, "normal");
    const session = driver.instantiate({}, {
      send(bytes) {
        const answer = simulator.receive?.(bytes);
        // The device answers asynchronously, as a real line would.
        if (answer) setImmediate(() => session.push(answer));
        return true;
      },
    });
    for (const spec of driver.commands) {
      const params = spec.params.parse(EXAMPLE_PARAMS[spec.name] ?? {});
      await expect(session.execute(spec.name, params), spec.name).resolves.toBeDefined();
    }
  });
});

/**
 * Ticks of a driver's simulator through a session, answering what the driver sends: the decoded
 * events, and every byte the device sent, in order.
 */
async function playScenario(driver: Driver, scenario: Scenario, ticks = 30): Promise<{ events: DecoderEvent[]; bytes: Uint8Array }> {
  const simulator = driver.simulator({}, scenario);
  const events: DecoderEvent[] = [];
  const sent: number[] = [];
  const receive = (bytes: Uint8Array) => {
    sent.push(...bytes);
    session.push(bytes, (event) => events.push(event));
  };
  const session = driver.instantiate({}, {
    send(bytes) {
      const answer = simulator.receive?.(bytes);
      // The device answers asynchronously, as a real line would.
      if (answer) setImmediate(() => receive(answer));
      return true;
    },
  });
  session.connected(); // command protocols talk only when asked: the handshake goes through io
  // A device that measures when told to is told at every tick (it refuses while busy).
  const measure = driver.measureCommand;
  for (let tick = 0; tick < ticks; tick++) {
    if (measure) await session.execute(measure, {}).catch(() => undefined);
    receive(simulator.chunk(tick));
  }
  session.disconnected(); // ends a keep-alive
  return { events, bytes: Uint8Array.from(sent) };
}

/** What reached the device through io and what came out of the instance, in the order it happened. */
function throughInstance(driver: Driver, bytes: Uint8Array): string[] {
  const order: string[] = [];
  const session = driver.instantiate({}, { send: (written) => order.push(`sent ${hex(written)}`) > 0 });
  session.push(bytes, (event) => order.push(event.type));
  return order;
}

/** The same, as the bare decoder asks for it: its replies are what the instance must send. */
function askedOfDecoder(driver: Driver, bytes: Uint8Array): string[] {
  return driver
    .decoder({})
    .push(bytes)
    .flatMap((event) => (event.type === "reply" ? [`sent ${hex(event.bytes)}`] : event.type === "message" ? [] : [event.type]));
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe.each(DRIVERS.map((driver) => [driver.id, driver] as const))("driver %s", (_id, driver) => {
  it.skipIf(!reporting.includes(driver)).each(SCENARIOS)("decodes its simulator's %s scenario", async (scenario) => {
    const { events } = await playScenario(driver, scenario);
    const decoded = readings(events);
    // A continuous device reports every tick; a cuff needs a tick to measure between results.
    const expected = driver.kind === "continuous" ? 25 : 12;
    expect(decoded.length).toBeGreaterThan(scenario === "garbled" ? expected * 0.4 : expected);
    decoded.forEach(expectWellFormed);
    if (scenario === "normal") expect(decoded.every((reading) => reading.observations.length > 0)).toBe(true);
    expect(decoded.every((reading) => reading.kind === driver.kind)).toBe(true);
    if (scenario === "garbled") expect(events.some((event) => event.type === "discarded")).toBe(true);
  });

  it.skipIf(!reporting.includes(driver))("sends each reply its decoder asks for through io, once, after the readings before it", async () => {
    const { bytes } = await playScenario(driver, "normal", 12);
    // Replies may carry the time (an HL7 ACK's MSH-7): both runs see the same clock.
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 3, 10, 0, 0), toFake: ["Date"] });
    try {
      const asked = askedOfDecoder(driver, bytes);
      expect(throughInstance(driver, bytes)).toEqual(asked);
      if (REPLYING.includes(driver.id)) expect(asked.some((step) => step.startsWith("sent "))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("never throws on arbitrary bytes, split arbitrarily, and stays in range", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const decoder = driver.decoder({});
        for (const chunk of chunks) readings(decoder.push(chunk)).forEach(expectWellFormed);
      }),
      { numRuns: 300 },
    );
  });

  it("counts and drops a flood that never completes a frame, holding at most one frame's worth (MLLP's 1 MiB)", () => {
    fc.assert(
      // (A flood of CR or LF is blank lines to the line-based drivers: ignored, not garbage, and not kept.)
      fc.property(fc.uint8Array({ maxLength: 4 }), fc.integer({ min: 0, max: 255 }).filter((byte) => byte !== 0x0a && byte !== 0x0d), (lead, fill) => {
        const decoder = driver.decoder({});
        const chunk = new Uint8Array(16 * 1024).fill(fill);
        let pushed = lead.length;
        let discarded = 0;
        const count = (events: ReturnType<typeof decoder.push>) => {
          for (const event of events) if (event.type === "discarded") discarded += event.bytes;
        };
        count(decoder.push(lead));
        for (let i = 0; i < 80; i++, pushed += chunk.length) count(decoder.push(chunk));
        expect(pushed - discarded).toBeLessThanOrEqual(1024 * 1024 + 4096);
      }),
      { numRuns: 8 },
    );
  });

  it.skipIf(!reporting.includes(driver))("decodes the same readings from simulator bytes cut into random pieces", async () => {
    const { bytes } = await playScenario(driver, "normal", 6);
    const whole = readings(driver.decoder({}).push(bytes));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), (cuts) => {
        const decoder = driver.decoder({});
        const edges = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        const pieces = edges.slice(1).map((end, i) => bytes.subarray(edges[i], end));
        expect(pieces.flatMap((piece) => readings(decoder.push(piece)))).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });
});
