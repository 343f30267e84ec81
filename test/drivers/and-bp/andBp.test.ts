/**
 * A&D blood-pressure monitor: link frames and RB measurements from byte arrays worked out by
 * hand, the decoder on damaged input, and the controller against the simulator.
 */
import { describe, expect, it } from "vitest";
import { createBpSimulator } from "../../../drivers/and-bp/simulator.ts";
import { andBp } from "../../../drivers/and-bp/descriptor.ts";
import { andDecoder } from "../../../drivers/and-bp/decoder.ts";
import { AndFramer, encodeText } from "../../../drivers/and-bp/frames.ts";
import type { DecoderEvent } from "../../../drivers/core/types.ts";
import { discarded, readings } from "../../helpers/decoderEvents.ts";

const RS = "\x1e";
const ascii = (text: string) => Array.from(text, (char) => char.charCodeAt(0));
const xor = (bytes: number[]) => bytes.reduce((sum, byte) => sum ^ byte, 0);
/** SYN SYN SOH "00" STX text ETX BCC, BCC = XOR from SOH through ETX. */
const textFrame = (text: string) => {
  const body = [0x01, 0x30, 0x30, 0x02, ...ascii(text), 0x03];
  return [0x16, 0x16, ...body, xor(body)];
};
const ACK = [0x16, 0x16, 0x01, 0x30, 0x30, 0x06];
const MEASURED = ["TM-2655", "2611231405", "0001", "0", "00", "S128", "M097", "D082", "P071", "C180", "A045"].join(RS);


describe("A&D link frames", () => {
  it("encodes the host commands with the check byte worked out by hand", () => {
    // 01^30^30^02^53^54^03 = 07; 01^30^30^02^53^50^03 = 03; 01^30^30^02^52^42^03 = 10
    expect([...encodeText("ST")]).toEqual([0x16, 0x16, 0x01, 0x30, 0x30, 0x02, 0x53, 0x54, 0x03, 0x07]);
    expect([...encodeText("SP")]).toEqual([0x16, 0x16, 0x01, 0x30, 0x30, 0x02, 0x53, 0x50, 0x03, 0x03]);
    expect([...encodeText("RB")]).toEqual([0x16, 0x16, 0x01, 0x30, 0x30, 0x02, 0x52, 0x42, 0x03, 0x10]);
  });

  it("finds ACK, NAK and text frames, skipping and counting what is not one", () => {
    const events = new AndFramer().push(Uint8Array.from([0x41, 0x16, ...ACK, ...textFrame("ST"), 0x16, 0x16, 0x01, 0x30, 0x30, 0x15]));
    expect(events).toEqual([
      { type: "discarded", bytes: 2, reason: expect.any(String) },
      { type: "frame", frame: { kind: "ack", address: "00" } },
      { type: "frame", frame: { kind: "text", address: "00", text: "ST" } },
      { type: "frame", frame: { kind: "nak", address: "00" } },
    ]);
  });
});

describe("A&D RB measurements", () => {
  it("decodes a measurement into a spot reading with the monitor's time", () => {
    const events = andDecoder().push(Uint8Array.from(textFrame(MEASURED)));
    expect(readings(events)).toEqual([
      {
        kind: "spot",
        deviceTime: "2026-11-23T14:05:00",
        flags: [],
        observations: [
          { type: "systolic_bp", value: 128, unit: "mm[Hg]", loinc: "8480-6" },
          { type: "diastolic_bp", value: 82, unit: "mm[Hg]", loinc: "8462-4" },
          { type: "mean_bp", value: 97, unit: "mm[Hg]", loinc: "8478-0" },
          { type: "pulse_rate", value: 71, unit: "/min", loinc: "8889-8" },
        ],
      },
    ]);
    expect(events).toContainEqual({ type: "message", message: expect.objectContaining({ kind: "measurement" }) });
  });

  it("reports a failed measurement without values, and leaves out values that are not digits", () => {
    const failed = ["TM-2655", "2611231405", "0002", "0", "01", "S000", "M000", "D000", "P000", "C180", "A000"].join(RS);
    expect(readings(andDecoder().push(Uint8Array.from(textFrame(failed))))).toEqual([
      { kind: "spot", deviceTime: "2026-11-23T14:05:00", observations: [], flags: ["measurement-failed"] },
    ]);
    const partial = ["TM-2655", "9913991405", "0003", "0", "00", "S131", "M---", "D084", "P---"].join(RS);
    const [reading] = readings(andDecoder().push(Uint8Array.from(textFrame(partial))));
    expect(reading?.observations.map((o) => o.type)).toEqual(["systolic_bp", "diastolic_bp"]);
    expect(reading?.deviceTime).toBeUndefined(); // month 13 is no time: the receive time is used
  });

  it("publishes a measurement read again (RB) only once", () => {
    const decoder = andDecoder();
    expect(readings(decoder.push(Uint8Array.from(textFrame(MEASURED))))).toHaveLength(1);
    const again = decoder.push(Uint8Array.from([...ACK, ...textFrame(MEASURED)]));
    expect(readings(again)).toHaveLength(0);
    expect(again.filter((event) => event.type === "message")).toHaveLength(2); // the read still gets its answer
  });

  it("skips a frame with a wrong check byte or a text that is no measurement, and resynchronises", () => {
    const spoiled = textFrame(MEASURED);
    spoiled[12] = (spoiled[12] ?? 0) ^ 0x01;
    const events = andDecoder().push(Uint8Array.from([...spoiled, ...textFrame("hello"), 0xff, 0x00, ...textFrame(MEASURED)]));
    expect(readings(events)).toHaveLength(1);
    expect(discarded(events)).toBeGreaterThanOrEqual(spoiled.length + 2);
  });

  it("waits for the rest of a truncated frame and gives the same reading wherever the bytes are split", () => {
    const bytes = Uint8Array.from([...ACK, ...textFrame(MEASURED)]);
    const whole = readings(andDecoder().push(bytes));
    for (let cut = 1; cut < bytes.length; cut++) {
      const decoder = andDecoder();
      expect([...readings(decoder.push(bytes.subarray(0, cut))), ...readings(decoder.push(bytes.subarray(cut)))]).toEqual(whole);
    }
  });
});

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
