/**
 * Where the fleet service keeps what it knows: each box's current state, and 30 days of its
 * availability transitions and events, bounded. SQLite by default (sqliteStore.ts); memory for
 * tests (memoryStore.ts); PostgreSQL to come, for two instances sharing one store. Every store
 * passes one contract suite (test/tools/fleet/storeContract.ts).
 *
 * Synchronous, because FleetView (model.ts) answers `history` synchronously and node:sqlite is.
 * The contract suite awaits every call, so a store whose methods return promises can be checked
 * by it unchanged; FleetView would then need an asynchronous `history`.
 */
import type { BoxHistoryEntry, BoxState } from "./model.ts";

/** Issue 16: "30 days of availability transitions and events per box". */
export const HISTORY_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * A box that flaps (a bad cable on its uplink: offline/online every keep-alive) would otherwise
 * fill the disk within its 30 days; 2,000 is over a month of a box that drops once an hour.
 */
export const HISTORY_MAX_PER_BOX = 2_000;

export interface PruneLimits {
  /** Entries older than this (epoch ms) go. */
  beforeMs: number;
  /** Only the newest this many entries of each box stay. */
  maxPerBox: number;
}

export interface FleetStore {
  /** Inserts or replaces each box's state, all in one transaction. */
  upsert(states: readonly BoxState[]): void;
  /** Every box's current state (in no particular order). */
  states(): BoxState[];
  /** Appends transitions and events, all in one transaction. */
  append(entries: readonly BoxHistoryEntry[]): void;
  /** One box's entries at or after `sinceMs` (epoch ms), oldest first, in the order appended at equal times. */
  history(deviceId: string, sinceMs: number): BoxHistoryEntry[];
  /** Drops what is past either limit; returns how many entries went. */
  prune(limits: PruneLimits): number;
  close(): void;
}
