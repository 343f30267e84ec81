/**
 * The contract every driver in the registry passes (one shared suite, as MQTT.js does for its
 * stores): its simulator's bytes decode to readings in the published shape, split anywhere;
 * garbage never throws and never yields a value outside the observation's range.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DRIVERS } from "../../drivers/index.ts";
import { OBSERVATIONS } from "../../drivers/observations.ts";
import { SCENARIOS } from "../../drivers/simulation.ts";
import { READING_FLAGS, type DecoderEvent, type DeviceReading } from "../../drivers/types.ts";

const readings = (events: DecoderEvent[]) => events.flatMap((event) => (event.type === "reading" ? [event.reading] : []));

function expectWellFormed(reading: DeviceReading): void {
  expect(["continuous", "spot"]).toContain(reading.kind);
  for (const flag of reading.flags) expect(READING_FLAGS).toContain(flag);
  for (const observation of reading.observations) {
    const spec = OBSERVATIONS[observation.type];
    expect(observation.unit).toBe(spec.unit);
    expect(observation.value).toBeGreaterThanOrEqual(spec.min);
    expect(observation.value).toBeLessThanOrEqual(spec.max);
  }
}

const reporting = DRIVERS.filter((driver) => driver.measures.length > 0);
const commanded = DRIVERS.filter((driver) => driver.commands.length > 0);

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
    const session = driver.session({}, {
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

describe.each(DRIVERS.map((driver) => [driver.id, driver] as const))("driver %s", (_id, driver) => {
  it.skipIf(!reporting.includes(driver)).each(SCENARIOS)("decodes its simulator's %s scenario", (scenario) => {
    const simulator = driver.simulator({}, scenario);
    const handshake = driver.handshake({});
    if (handshake) simulator.receive?.(handshake.onOpen); // command protocols talk only when asked
    const decoder = driver.decoder({});
    const events = Array.from({ length: 30 }, (_, tick) => decoder.push(simulator.chunk(tick))).flat();
    const decoded = readings(events);
    expect(decoded.length).toBeGreaterThan(scenario === "garbled" ? 10 : 25);
    decoded.forEach(expectWellFormed);
    if (scenario === "normal") expect(decoded.every((reading) => reading.observations.length > 0)).toBe(true);
    if (scenario === "garbled") expect(events.some((event) => event.type === "discarded")).toBe(true);
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

  it.skipIf(!reporting.includes(driver))("decodes the same readings from simulator bytes cut into random pieces", () => {
    const simulator = driver.simulator({}, "normal");
    const handshake = driver.handshake({});
    if (handshake) simulator.receive?.(handshake.onOpen);
    const bytes = Uint8Array.from(Array.from({ length: 6 }, (_, tick) => [...simulator.chunk(tick)]).flat());
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
