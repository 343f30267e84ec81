/**
 * A&D blood-pressure monitor: the controller's commands against the simulator.
 */
import { describe, expect, it } from "vitest";
import { createBpSimulator } from "../../../drivers/and-bp/simulator.ts";
import { andBp } from "../../../drivers/and-bp/descriptor.ts";
import type { DecoderEvent } from "../../../drivers/core/types.ts";
import { readings } from "../../helpers/decoderEvents.ts";

describe("A&D commands", () => {
  /** A session wired to a simulator whose ticks the test drives. */
  function monitor(answering = true) {
    const simulator = createBpSimulator("normal");
    const events: DecoderEvent[] = [];
    const session = andBp.instantiate({ replyTimeoutMs: 100 }, {
      send(bytes) {
        const answer = answering ? simulator.receive?.(bytes) : undefined;
        if (answer) setImmediate(() => session.push(answer, (event) => events.push(event)));
        return true;
      },
    });
    return { session, events, tick: (n: number) => session.push(simulator.chunk(n), (event) => events.push(event)) };
  }

  it("starts a measurement, refuses a second one while measuring, and publishes the result", async () => {
    const { session, events, tick } = monitor();
    tick(0);
    await expect(session.execute("bp.start", {})).resolves.toEqual({ started: true });
    await expect(session.execute("bp.start", {})).rejects.toMatchObject({ code: "device-rejected" });
    tick(1);
    expect(readings(events)).toEqual([expect.objectContaining({ kind: "spot", flags: [] })]);
    const read = await session.execute("bp.read", {});
    expect(read).toMatchObject({ ok: true, systolic: expect.any(Number), diastolic: expect.any(Number), unit: "mm[Hg]" });
    expect(readings(events)).toHaveLength(1); // the read did not publish it again
  });

  it("stops a measurement so no result follows", async () => {
    const { session, events, tick } = monitor();
    await session.execute("bp.start", {});
    await expect(session.execute("bp.stop", {})).resolves.toEqual({ stopped: true });
    tick(1);
    tick(2);
    expect(readings(events)).toEqual([]);
  });

  it("times out when the monitor does not answer, and fails at once when the line is down", async () => {
    await expect(monitor(false).session.execute("bp.start", {})).rejects.toMatchObject({ code: "device-timeout" });
    const down = andBp.instantiate({}, { send: () => false });
    await expect(down.execute("bp.read", {})).rejects.toMatchObject({ code: "device-unavailable" });
    await expect(down.execute("ptz.move", {})).rejects.toMatchObject({ code: "unsupported-command" });
  });
});
