/**
 * What a box's message is to the fleet service: topic and payload checked, or a reason it was
 * discarded. Pure. Payloads are the agent's (agent/core/api.ts, docs/mqtt-api.md), but anything
 * may arrive under `thea/v1/`: a box running other code, a misconfigured ACL, a test tool. So the
 * size is checked before parsing, the depth before JSON.parse (lib/remoteJson.ts), then the shape;
 * unknown keys are dropped, so what is kept is bounded by the shape.
 */
import { z } from "zod";
import type { StatusPayload, SummaryPayload } from "../../agent/core/api.ts";
import { TOPIC_PREFIX } from "../../agent/core/topics.ts";
import { DEVICE_ID_PATTERN, SITE_LABEL_MAX_BYTES } from "../../config/schema.ts";
import { parseRemoteJson } from "../../lib/remoteJson.ts";

/** A summary is ≤ 1 kB (docs/mqtt-api.md); status and events are smaller still. 4 kB leaves room to grow. */
export const MAX_MESSAGE_BYTES = 4096;
/** The agent's alive is empty; a few bytes of slack for another implementation, no more (it is never parsed). */
export const MAX_ALIVE_BYTES = 64;
/** The deepest payload of v1 (summary.peripherals.down) nests 3; events carry a few levels of detail. */
const MAX_DEPTH = 8;

export type FleetEventPayload = { id: string; type: string; time: string } & Record<string, unknown>;

export type FleetMessage =
  | { kind: "status"; deviceId: string; payload: StatusPayload; retained: boolean }
  | { kind: "summary"; deviceId: string; payload: SummaryPayload; retained: boolean }
  | { kind: "event"; deviceId: string; payload: FleetEventPayload; retained: boolean }
  /** "Still here" (agent/telemetry/alive.ts): empty; only its arrival counts. */
  | { kind: "alive"; deviceId: string; retained: boolean };

export type DiscardReason = "topic" | "device-id" | "cleared" | "too-large" | "invalid-json" | "shape";
export type Parsed = { ok: true; message: FleetMessage } | { ok: false; reason: DiscardReason; deviceId?: string; detail: string };

const short = z.string().max(128);
const label = z.string().refine((text) => Buffer.byteLength(text) <= SITE_LABEL_MAX_BYTES, "label too long");
const site = z.object({ province: label.optional(), district: label.optional(), commune: label.optional() });
const clock = z.boolean().nullable();
const count = z.number().int().nonnegative();

const status = z.discriminatedUnion("online", [
  z.object({
    online: z.literal(true), version: short, startedAt: short, configHash: short, bootId: short, session: count, clockSynchronized: clock, site,
    // MQTT's keep-alive is two bytes (MQTT 5 §3.1.2.10); 0 turns it off, so no silence rule either. Absent from older agents.
    keepaliveSec: z.number().int().min(1).max(65_535).optional(),
  }),
  z.object({ online: z.literal(false), reason: z.enum(["connection-lost", "shutdown"]), bootId: short }),
]);

const summary = z.object({
  site,
  onlineSince: short,
  version: short,
  config: z.object({ version: count, state: z.enum(["applied", "restarting", "waiting-for-idle", "trial"]), refusedVersion: count.nullable() }),
  update: short,
  clockSynchronized: clock,
  cpuTempC: z.number().nullable(),
  diskUsedPercent: z.number().min(0).max(100).nullable(),
  outbox: z.object({ backlog: z.number().nonnegative(), oldestAgeMin: z.number().nonnegative().nullable() }),
  // At most 8 ids from the agent; a little slack, but a bound.
  peripherals: z.object({ connected: count, configured: count, down: z.array(short).max(16), downMore: count.optional() }),
  consultations: count,
});

const event = z.looseObject({ id: short, type: short, time: short });

const KINDS = ["status", "summary", "event", "alive"] as const;
type Kind = (typeof KINDS)[number];
const isKind = (text: string | undefined): text is Kind => KINDS.some((kind) => kind === text);

/** `thea/v1/{deviceId}/{status|summary|event|alive}` with a device id the agent would accept (config/schema.ts). */
export function parseFleetMessage(topic: string, payload: Uint8Array, retained: boolean): Parsed {
  const levels = topic.split("/");
  const [prefix, version, deviceId, kind] = levels;
  if (levels.length !== 4 || `${prefix}/${version}` !== TOPIC_PREFIX || deviceId === undefined || !isKind(kind)) {
    return { ok: false, reason: "topic", detail: `not a fleet topic: ${topic.slice(0, 200)}` };
  }
  if (!DEVICE_ID_PATTERN.test(deviceId)) return { ok: false, reason: "device-id", detail: `device id does not match ${DEVICE_ID_PATTERN.source}` };
  if (kind === "alive") {
    return payload.byteLength <= MAX_ALIVE_BYTES ? { ok: true, message: { kind, deviceId, retained } } : { ok: false, reason: "too-large", deviceId, detail: `alive of ${payload.byteLength} bytes (at most ${MAX_ALIVE_BYTES})` };
  }
  // An empty retained message is how an administrator clears a decommissioned box's status and
  // summary (docs/mqtt-api.md): not malformed, but nothing to apply either.
  if (payload.byteLength === 0) return { ok: false, reason: "cleared", deviceId, detail: "retained message cleared" };
  const json = parseRemoteJson(payload, { maxBytes: MAX_MESSAGE_BYTES, maxDepth: MAX_DEPTH });
  if (!json.ok) return { ok: false, reason: json.code === "payload-too-large" ? "too-large" : "invalid-json", deviceId, detail: json.message };
  switch (kind) {
    case "status": {
      const checked = status.safeParse(json.value);
      return checked.success ? { ok: true, message: { kind, deviceId, payload: checked.data, retained } } : shapeError(deviceId, checked.error);
    }
    case "summary": {
      const checked = summary.safeParse(json.value);
      return checked.success ? { ok: true, message: { kind, deviceId, payload: checked.data, retained } } : shapeError(deviceId, checked.error);
    }
    case "event": {
      const checked = event.safeParse(json.value);
      return checked.success ? { ok: true, message: { kind, deviceId, payload: checked.data, retained } } : shapeError(deviceId, checked.error);
    }
  }
}

function shapeError(deviceId: string, error: z.ZodError): Parsed {
  return { ok: false, reason: "shape", deviceId, detail: error.issues.slice(0, 3).map((issue) => `${issue.path.join(".") || "payload"}: ${issue.message}`).join("; ") };
}
