/**
 * Where the fleet service keeps what it knows: each box's current state, and 30 days of its
 * availability transitions and events, bounded. SQLite by default (sqliteStore.ts); PostgreSQL
 * (pgStore.ts) for two instances sharing one store; memory for tests (memoryStore.ts). Every
 * store passes one contract suite (test/tools/fleet/storeContract.ts).
 *
 * Asynchronous, because PostgreSQL is reached over a socket; the SQLite and memory stores answer
 * with promises too, so what is built on a store is written once.
 */
import type { BoxHistoryEntry } from "./model.ts";
import type { BoxState } from "./types/boxState.ts";

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

/**
 * An entry as appended. `once`, when given, names what the entry records (an availability
 * transition: `online:{bootId}:{session}`): a second entry of the same box with the same `once`
 * is not kept. Two instances of the service both see every status (fleet.ts) and both append its
 * transition; the store keeps one. `once` is the store's; `history` gives entries back without it.
 */
export interface HistoryRecord extends BoxHistoryEntry {
  once?: string;
}

export interface FleetStore {
  /** Inserts or replaces each box's state, all in one transaction. */
  upsert(states: readonly BoxState[]): Promise<void>;
  /** Every box's current state (in no particular order). */
  states(): Promise<BoxState[]>;
  /** Appends transitions and events, all in one transaction; one whose box and `once` are kept already is skipped. */
  append(entries: readonly HistoryRecord[]): Promise<void>;
  /** One box's entries at or after `sinceMs` (epoch ms), oldest first, in the order appended at equal times. */
  history(deviceId: string, sinceMs: number): Promise<BoxHistoryEntry[]>;
  /** Drops what is past either limit; returns how many entries went. */
  prune(limits: PruneLimits): Promise<number>;
  close(): Promise<void>;
}

/** The entry without the store's `once`, as `history` answers it. */
export function entryOf(record: HistoryRecord): BoxHistoryEntry {
  const { once: _once, ...entry } = record;
  return entry;
}
