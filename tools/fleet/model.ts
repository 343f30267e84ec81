/**
 * What the fleet service knows of each box, and what it answers about the fleet: the one
 * vocabulary its parts share (ingest writes BoxState, the store keeps it, attention.ts reads it,
 * the HTTP API and the page show it). Built from the box's own retained messages
 * (`status`, `summary`; docs/mqtt-api.md), so a service that starts sees every box at once.
 * BoxState itself is in types/boxState.ts, where the rollouts (rollout/) may read it too.
 */
import type { BoxState } from "./types/boxState.ts";

/** Why a box is on the "needs attention" list; each with the figure that put it there. */
export type AttentionReason =
  | { kind: "offline"; forMin: number }
  | { kind: "peripheral-down"; ids: string[]; more: number }
  | { kind: "disk-full"; usedPercent: number }
  | { kind: "outbox-stale"; oldestAgeMin: number }
  | { kind: "clock-unsynchronized" }
  | { kind: "update-failed"; state: string }
  | { kind: "config-refused"; version: number };

export interface FleetCounts {
  total: number;
  online: number;
  offline: number;
  attention: number;
  updating: number;
}

/** A box with what it needs: the API's and the page's row. */
export interface BoxRow extends BoxState {
  attention: AttentionReason[];
}

/** What an operator narrows the list by (all optional; strings match exactly, `q` searches ids and sites). */
export interface FleetQuery {
  province?: string;
  district?: string;
  commune?: string;
  version?: string;
  state?: "online" | "offline" | "attention" | "updating";
  q?: string;
}

/** An availability transition, an event, or a person's action on one box, kept 30 days. */
export interface BoxHistoryEntry {
  deviceId: string;
  at: string;
  /** `action`: someone acted through the fleet service (detail: cn, role, command, code). */
  kind: "online" | "offline" | "event" | "action";
  detail: Record<string, unknown>;
}

/**
 * The fleet as the HTTP API and the page read it (fleet.ts implements it over a store).
 * Rows come most urgent first: needing attention (offline longest first), then the rest by id.
 */
export interface FleetView {
  list(query: FleetQuery): BoxRow[];
  counts(): FleetCounts;
  box(deviceId: string): BoxRow | undefined;
  /** Transitions and events of one box since `sinceMs` (epoch ms), oldest first; read from the store. */
  history(deviceId: string, sinceMs: number): Promise<BoxHistoryEntry[]>;
  /** Called with the ids of boxes whose row changed; returns a function that removes the listener. */
  onChange(listener: (deviceIds: readonly string[]) => void): () => void;
}
