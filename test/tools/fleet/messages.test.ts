import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFleetMessage } from "../../../tools/fleet/messages.ts";
import { deeplyNested, prototypesAreOrdinary, RUNS, wireJson, wireObject } from "../../helpers/hostileJson.ts";

const bytes = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));

const status = { online: true, version: "0.1.0", startedAt: "2026-12-03T10:00:00.000Z", configHash: "900112fa3b254c0c", bootId: "b1", session: 1, clockSynchronized: true, site: { province: "Takeo" } };
const summary = {
  site: { province: "Takeo" },
  onlineSince: "2026-12-03T10:00:00.000Z",
  version: "0.1.0",
  config: { version: 3, state: "applied", refusedVersion: null },
  update: "idle",
  clockSynchronized: true,
  cpuTempC: 50,
  diskUsedPercent: 42,
  outbox: { backlog: 0, oldestAgeMin: 0 },
  peripherals: { connected: 1, configured: 2, down: ["bp"] },
  consultations: 1,
};

describe("parseFleetMessage", () => {
  it("takes the agent's status, summary and event, as docs/mqtt-api.md shows them", () => {
    expect(parseFleetMessage("thea/v1/box-1/status", bytes(status), true)).toEqual({ ok: true, message: { kind: "status", deviceId: "box-1", payload: status, retained: true } });
    expect(parseFleetMessage("thea/v1/box-1/status", bytes({ online: false, reason: "connection-lost", bootId: "b1" }), false).ok).toBe(true);
    expect(parseFleetMessage("thea/v1/box-1/summary", bytes(summary), true)).toMatchObject({ ok: true, message: { kind: "summary", payload: summary } });
    const event = { id: "e1", type: "peripheral.disconnected", time: "2026-12-03T10:00:00.000Z", peripheral: "oximeter", error: "gone" };
    expect(parseFleetMessage("thea/v1/box-1/event", bytes(event), false)).toMatchObject({ ok: true, message: { kind: "event", payload: event } });
  });

  it("drops keys it does not know from status and summary, so what is kept stays bounded", () => {
    const parsed = parseFleetMessage("thea/v1/box-1/status", bytes({ ...status, extra: "x".repeat(1000) }), false);
    expect(parsed.ok && parsed.message.kind === "status" && "extra" in parsed.message.payload).toBe(false);
  });

  it("names why it refuses a topic, a device id, a size, a depth or a shape", () => {
    const reason = (topic: string, payload: Buffer) => {
      const parsed = parseFleetMessage(topic, payload, false);
      return parsed.ok ? "ok" : parsed.reason;
    };
    expect(reason("thea/v1/box-1/health", bytes(status))).toBe("topic");
    expect(reason("thea/v1/box-1/status/x", bytes(status))).toBe("topic");
    expect(reason("thea/v2/box-1/status", bytes(status))).toBe("topic");
    expect(reason("thea/v1/Box_1/status", bytes(status))).toBe("device-id");
    expect(reason(`thea/v1/${"a".repeat(65)}/status`, bytes(status))).toBe("device-id");
    expect(reason("thea/v1/box-1/status", Buffer.alloc(0))).toBe("cleared");
    expect(reason("thea/v1/box-1/status", Buffer.alloc(4097, 0x20))).toBe("too-large");
    expect(reason("thea/v1/box-1/status", bytes("{not json"))).toBe("invalid-json");
    expect(reason("thea/v1/box-1/event", bytes("[".repeat(9) + "]".repeat(9)))).toBe("invalid-json");
    expect(reason("thea/v1/box-1/status", bytes({ online: "yes" }))).toBe("shape");
    expect(reason("thea/v1/box-1/summary", bytes({ ...summary, diskUsedPercent: 400 }))).toBe("shape");
    expect(reason("thea/v1/box-1/summary", bytes({ ...summary, site: { province: "x".repeat(65) } }))).toBe("shape");
    expect(reason("thea/v1/box-1/event", bytes({ type: "x" }))).toBe("shape");
    expect(reason("thea/v1/box-1/alive", Buffer.alloc(65))).toBe("too-large");
    expect(reason("thea/v1/Box_1/alive", Buffer.alloc(0))).toBe("device-id");
    expect(reason("thea/v1/box-1/alive/x", Buffer.alloc(0))).toBe("topic");
    expect(reason("thea/v1/box-1/status", bytes({ ...status, keepaliveSec: 0 }))).toBe("shape");
    expect(reason("thea/v1/box-1/status", bytes({ ...status, keepaliveSec: 70_000 }))).toBe("shape");
  });

  it("takes an alive, empty as the agent sends it, as a sign of life and nothing more; and a status with or without keepaliveSec", () => {
    expect(parseFleetMessage("thea/v1/box-1/alive", Buffer.alloc(0), false)).toEqual({ ok: true, message: { kind: "alive", deviceId: "box-1", retained: false } });
    expect(parseFleetMessage("thea/v1/box-1/status", bytes({ ...status, keepaliveSec: 30 }), false)).toMatchObject({ ok: true, message: { payload: { keepaliveSec: 30 } } });
    expect(parseFleetMessage("thea/v1/box-1/status", bytes(status), false)).toMatchObject({ ok: true });
  });

  it("never throws on anything a sender can put on the wire, and keeps prototypes ordinary", () => {
    const topic = fc.constantFrom("thea/v1/box-1/status", "thea/v1/box-1/summary", "thea/v1/box-1/event");
    const payload = fc.oneof(wireJson.map(bytes), wireObject.map((object) => bytes({ id: "e", type: "t", time: "now", ...object })), deeplyNested.map(bytes), fc.uint8Array({ maxLength: 5000 }).map((array) => Buffer.from(array)));
    fc.assert(
      fc.property(topic, payload, (name, body) => {
        const parsed = parseFleetMessage(name, body, false);
        if (parsed.ok && parsed.message.kind !== "alive") expect(prototypesAreOrdinary(parsed.message.payload)).toBe(true);
      }),
      RUNS,
    );
  });
});
