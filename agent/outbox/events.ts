/**
 * Things that happened, for operators: `thea/v1/{deviceId}/event`, through the outbox (so events
 * from an outage arrive after it), priority between health and clinical readings.
 */
import { randomUUID } from "node:crypto";
import type { Outbox } from "./outbox.ts";
import { PRIORITY } from "./priority.ts";

export type EventType =
  | "peripheral.connected"
  | "peripheral.disconnected"
  | "camera.failed"
  | "disk.usage-high"
  | "outbox.dropped"
  | "outbox.degraded"
  | "system.reboot-failed";

export interface EventPayload {
  id: string;
  type: EventType;
  time: string;
  [detail: string]: unknown;
}

export class EventLog {
  readonly #outbox: Outbox;
  readonly #topic: string;

  constructor(options: { outbox: Outbox; topic: string }) {
    this.#outbox = options.outbox;
    this.#topic = options.topic;
  }

  record(type: EventType, details: Record<string, unknown> = {}): void {
    const event: EventPayload = { id: randomUUID(), type, time: new Date().toISOString(), ...details };
    this.#outbox.enqueue({ topic: this.#topic, priority: PRIORITY.event, createdAt: Date.now(), payload: JSON.stringify(event) });
  }
}
