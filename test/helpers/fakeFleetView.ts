/**
 * A FleetView over rows held in memory, for the fleet server's and page's tests: it records the
 * queries it is asked, filters as FleetQuery says, orders most urgent first, and lets a test
 * change a row and tell the listeners as fleet.ts would.
 */
import type { BoxHistoryEntry, BoxRow, FleetCounts, FleetQuery, FleetView } from "../../tools/fleet/model.ts";

const SETTLED_UPDATE = new Set(["idle", "committed", "rolled-back", "failed"]);

export function boxRow(deviceId: string, changes: Partial<BoxRow> = {}): BoxRow {
  const now = new Date().toISOString();
  return {
    deviceId,
    site: { province: "Lao Cai", district: "Sa Pa", commune: "Ta Van" },
    online: true,
    since: now,
    offlineReason: null,
    lastSeenAt: now,
    attention: [],
    summary: {
      site: { province: "Lao Cai", district: "Sa Pa", commune: "Ta Van" },
      onlineSince: now,
      version: "1.4.0",
      config: { version: 3, state: "applied", refusedVersion: null },
      update: "idle",
      clockSynchronized: true,
      cpuTempC: 45,
      diskUsedPercent: 41,
      outbox: { backlog: 0, oldestAgeMin: null },
      peripherals: { connected: 2, configured: 2, down: [] },
      consultations: 0,
    },
    ...changes,
  };
}

const updating = (row: BoxRow) => row.summary !== null && !SETTLED_UPDATE.has(row.summary.update);

export class FakeFleetView implements FleetView {
  readonly rows = new Map<string, BoxRow>();
  readonly queries: FleetQuery[] = [];
  readonly historyAsked: Array<{ deviceId: string; sinceMs: number }> = [];
  readonly #listeners = new Set<(ids: readonly string[]) => void>();

  constructor(rows: readonly BoxRow[] = []) {
    for (const row of rows) this.rows.set(row.deviceId, row);
  }

  list(query: FleetQuery): BoxRow[] {
    this.queries.push(query);
    return [...this.rows.values()].filter((row) => this.#matches(row, query)).sort(byUrgency);
  }

  counts(): FleetCounts {
    const rows = [...this.rows.values()];
    return {
      total: rows.length,
      online: rows.filter((row) => row.online).length,
      offline: rows.filter((row) => !row.online).length,
      attention: rows.filter((row) => row.attention.length > 0).length,
      updating: rows.filter(updating).length,
    };
  }

  box(deviceId: string): BoxRow | undefined {
    return this.rows.get(deviceId);
  }

  async history(deviceId: string, sinceMs: number): Promise<BoxHistoryEntry[]> {
    this.historyAsked.push({ deviceId, sinceMs });
    return [{ deviceId, at: new Date(sinceMs + 1000).toISOString(), kind: "offline", detail: { reason: "connection-lost" } }];
  }

  onChange(listener: (deviceIds: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  /** Replaces rows (or adds them) and tells the listeners, as the fleet does after ingesting. */
  change(...rows: BoxRow[]): void {
    for (const row of rows) this.rows.set(row.deviceId, row);
    for (const listener of this.#listeners) listener(rows.map((row) => row.deviceId));
  }

  #matches(row: BoxRow, query: FleetQuery): boolean {
    if (query.province !== undefined && row.site.province !== query.province) return false;
    if (query.district !== undefined && row.site.district !== query.district) return false;
    if (query.commune !== undefined && row.site.commune !== query.commune) return false;
    if (query.version !== undefined && row.summary?.version !== query.version) return false;
    if (query.state === "online" && !row.online) return false;
    if (query.state === "offline" && row.online) return false;
    if (query.state === "attention" && row.attention.length === 0) return false;
    if (query.state === "updating" && !updating(row)) return false;
    if (query.q !== undefined) {
      const q = query.q.toLowerCase();
      if (![row.deviceId, row.site.province, row.site.district, row.site.commune].some((field) => field?.toLowerCase().includes(q))) return false;
    }
    return true;
  }
}

/** Needing attention first (offline longest first), then by id: FleetView's order. */
function byUrgency(a: BoxRow, b: BoxRow): number {
  const aUrgent = a.attention.length > 0;
  const bUrgent = b.attention.length > 0;
  if (aUrgent !== bUrgent) return aUrgent ? -1 : 1;
  if (aUrgent && a.online !== b.online) return a.online ? 1 : -1;
  if (aUrgent && !a.online && a.since !== b.since) return a.since < b.since ? -1 : 1;
  return a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
}
