/**
 * How much an outbox entry matters when the outbox is full: the lowest number is dropped first
 * (health telemetry, then events, clinical readings last). The values are stored in the SQLite
 * outbox's `priority` column and its eviction order is `ORDER BY priority`, so they are part of
 * the on-disk format: add between them, never renumber.
 */
export const PRIORITY = { telemetry: 0, event: 1, clinical: 2 } as const;
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];
