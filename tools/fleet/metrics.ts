/**
 * The fleet in Prometheus' text format (issue 16, "The ecosystem's way in"): what a hospital's
 * Prometheus scrapes from `/metrics` and its Grafana draws. Built on prom-client with a registry
 * of its own (no global one), every value computed when scraped, from the FleetView and the
 * sources passed in (collect callbacks), never updated per message: a scrape costs the same
 * whether the boxes report once a minute or once a second.
 *
 * Series: at most 9 per box, 18,450 at 2,050 boxes (about 8 a box when most outboxes are empty),
 * plus about 100 for the fleet, the service and the process:
 * - per box, labelled device_id, province, district, commune: up, outbox backlog and its oldest
 *   age, disk used, CPU temperature, clock synchronised, peripherals connected and configured, and
 *   an info series that adds the version. A figure the box does not have (no summary yet, no
 *   sensor, "cannot tell") has no series rather than a made-up value. An offline box keeps its
 *   last figures, as the page shows them ("disk 97 %" beside "offline" is often the why).
 * - the fleet: boxes by state (online, offline, attention, updating);
 * - the service: the ingest's counters, the store's write failures, rollouts' progress, and
 *   prom-client's default process and Node.js metrics.
 *
 * Label values are bounded by what the ingest accepts (messages.ts): a device id 64 characters, a
 * site label 64 bytes, a version 128 characters; prom-client escapes them. One scrape reads one
 * snapshot of the rows, shared by the collect callbacks, so scrapes are taken one at a time; each
 * lets the event loop go between metric families. Scrapes for one audience start at least
 * MIN_SCRAPE_INTERVAL_MS apart, so a client that scrapes in a loop costs one scrape a second.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { BoxRow, FleetCounts, FleetView } from "./model.ts";

/** What the ingest counts (ingest.ts's IngestStats, as far as metrics read it). */
export interface IngestCounters {
  received: number;
  applied: number;
  duplicates: number;
  discarded: Record<string, number>;
}

export interface IngestStatsSource {
  stats(): IngestCounters;
}

/** What the fleet's writer counts of its store (fleet.ts). */
export interface StoreStatsSource {
  storeStats(): { writeFailures: number; historyDropped: number };
}

/** One rollout's progress, as the rollouts will report it. */
export interface RolloutProgress {
  id: string;
  state: string;
  done: number;
  failed: number;
  pending: number;
}

/** The rollouts' side (tools/fleet/rollout/ provides it): active and recent rollouts, newest first. */
export interface RolloutProgressSource {
  progress(): RolloutProgress[];
}

/** What the rollout engine says of its rollouts (rollout/engine.ts's progress(), as far as metrics read it). */
export interface RolloutEngineProgress {
  progress(): Array<{ id: string; status: string; totals: { boxes: number; succeeded: number; failed: number; timedOut: number } }>;
}

/**
 * The engine's rollouts as metrics count them: `done` the boxes that reached the goal, `failed`
 * those that count against the threshold (failed or timed out), `pending` the rest (not sent,
 * on their way, or offline: an offline box takes the change when it comes back).
 */
export function rolloutProgressOf(engine: RolloutEngineProgress): RolloutProgressSource {
  return {
    progress: () =>
      engine.progress().map(({ id, status, totals }) => {
        const failed = totals.failed + totals.timedOut;
        return { id, state: status, done: totals.succeeded, failed, pending: totals.boxes - totals.succeeded - failed };
      }),
  };
}

/**
 * The counters of the fleet's parts that keep them, for FleetMetricsOptions: the real ingest and
 * fleet do (ingest.ts, fleet.ts); serve.ts is also composed with parts that need not (tests' fakes).
 */
export function metricsSourcesOf(parts: { fleet: object; ingest: object }): { store?: StoreStatsSource; ingest?: IngestStatsSource } {
  const { fleet, ingest } = parts;
  return {
    ...("storeStats" in fleet && typeof fleet.storeStats === "function" && { store: fleet as StoreStatsSource }),
    ...("stats" in ingest && typeof ingest.stats === "function" && { ingest: ingest as IngestStatsSource }),
  };
}

export interface FleetMetricsOptions {
  view: FleetView;
  ingest?: IngestStatsSource;
  store?: StoreStatsSource;
  rollouts?: RolloutProgressSource;
  /** prom-client's process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
  /** The least time between the starts of two scrapes for one audience (default MIN_SCRAPE_INTERVAL_MS). */
  minIntervalMs?: number;
}

/**
 * Scrapes for one audience start at least this far apart: a client that scrapes in a loop costs
 * one scrape a second (Prometheus scrapes every 15 to 60 s).
 */
export const MIN_SCRAPE_INTERVAL_MS = 1_000;
/** Rollouts shown at most: the source's first (newest) ones; older ones leave the scrape. */
export const MAX_ROLLOUTS = 50;
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

const BOX_LABELS = ["device_id", "province", "district", "commune"] as const;
type BoxLabels = Record<(typeof BOX_LABELS)[number], string>;
const STATES = ["online", "offline", "attention", "updating"] as const;

export class FleetMetrics {
  readonly #options: FleetMetricsOptions;
  /** The boxes and counts of the fleet part of the scrape under way. */
  readonly #fleet = new Registry();
  /** The service's own figures: shown only to a scraper that sees the whole fleet. */
  readonly #service = new Registry();
  #rows: BoxRow[] = [];
  #counts: FleetCounts = { total: 0, online: 0, offline: 0, attention: 0, updating: 0 };
  /** Scrapes one after another: the collect callbacks share #rows. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Per audience: when its last scrape started, and the next one, which the requests waiting for it share. */
  readonly #paced = new Map<string, { startedAt: number; next: Promise<string> | undefined }>();

  constructor(options: FleetMetricsOptions) {
    this.#options = options;
    this.#boxGauges();
    this.#fleetGauges();
    this.#serviceMetrics();
  }

  /**
   * The text of a scrape of `view` (the whole fleet, or the part a scraper may see) that starts
   * after this call: never older than the request. `key` names the audience: its scrapes start
   * at least MIN_SCRAPE_INTERVAL_MS apart, a request that comes sooner waits, and the requests
   * waiting together share one scrape. The service's own figures (ingest, store, process) are
   * added for `whole` only: they are about every box.
   */
  scrape(view: FleetView, options: { key: string; whole: boolean }): Promise<string> {
    const intervalMs = this.#options.minIntervalMs ?? MIN_SCRAPE_INTERVAL_MS;
    const now = Date.now();
    for (const [key, old] of this.#paced) if (old.next === undefined && now - old.startedAt >= intervalMs) this.#paced.delete(key);
    const pace = this.#paced.get(options.key) ?? { startedAt: -Infinity, next: undefined };
    this.#paced.set(options.key, pace);
    if (pace.next) return pace.next;
    const waitMs = Math.max(0, pace.startedAt + intervalMs - now);
    const next = new Promise<void>((resolve) => (waitMs > 0 ? setTimeout(resolve, waitMs) : resolve())).then(() => {
      pace.next = undefined;
      pace.startedAt = Date.now();
      const text = this.#queue.then(() => this.#scrapeNow(view, options.whole));
      this.#queue = text.catch(() => undefined);
      return text;
    });
    pace.next = next;
    return next;
  }

  async #scrapeNow(view: FleetView, whole: boolean): Promise<string> {
    this.#rows = view.list({});
    this.#counts = view.counts();
    try {
      const fleet = await textOf(this.#fleet);
      return whole ? fleet + (await textOf(this.#service)) : fleet;
    } finally {
      this.#rows = [];
    }
  }

  #boxGauges(): void {
    const rows = () => this.#rows;
    const perBox = (name: string, help: string, value: (row: BoxRow) => number | null | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: BOX_LABELS,
        registers: [this.#fleet],
        collect() {
          this.reset();
          for (const row of rows()) {
            const figure = value(row);
            if (typeof figure === "number" && Number.isFinite(figure)) this.set(boxLabels(row), figure);
          }
        },
      });
    };
    perBox("thea_fleet_box_up", "1 when the box is connected to the broker, 0 when its status says offline.", (row) => (row.online ? 1 : 0));
    perBox("thea_fleet_box_outbox_backlog", "Entries waiting in the box's outbox (one significant figure; below 10 shown as 0).", (row) => row.summary?.outbox.backlog);
    perBox("thea_fleet_box_outbox_oldest_age_seconds", "Age of the oldest entry in the box's outbox, in the summary's bands (0, 1, 5, 15, 60, ... minutes).", (row) => {
      const minutes = row.summary?.outbox.oldestAgeMin;
      return typeof minutes === "number" ? minutes * 60 : undefined;
    });
    perBox("thea_fleet_box_disk_used_ratio", "Share of the box's data disk in use, 0 to 1.", (row) => {
      const percent = row.summary?.diskUsedPercent;
      return typeof percent === "number" ? percent / 100 : undefined;
    });
    perBox("thea_fleet_box_cpu_temperature_celsius", "The box's CPU temperature, rounded down to a multiple of 5.", (row) => row.summary?.cpuTempC);
    perBox("thea_fleet_box_clock_synchronized", "1 when the box's clock is synchronised, 0 when not; absent when the box cannot tell.", (row) => {
      const synchronized = row.summary?.clockSynchronized;
      return typeof synchronized === "boolean" ? Number(synchronized) : undefined;
    });
    perBox("thea_fleet_box_peripherals_connected", "The box's configured peripherals that are connected.", (row) => row.summary?.peripherals.connected);
    perBox("thea_fleet_box_peripherals_configured", "The box's configured peripherals.", (row) => row.summary?.peripherals.configured);
    new Gauge({
      name: "thea_fleet_box_info",
      help: "Always 1: the box's version and site, to join on device_id.",
      labelNames: [...BOX_LABELS, "version"],
      registers: [this.#fleet],
      collect() {
        this.reset();
        for (const row of rows()) this.set({ ...boxLabels(row), version: row.summary?.version ?? "" }, 1);
      },
    });
  }

  #fleetGauges(): void {
    const counts = () => this.#counts;
    new Gauge({
      name: "thea_fleet_boxes",
      help: "Boxes by state (attention and updating overlap online and offline), as the page's counts.",
      labelNames: ["state"],
      registers: [this.#fleet],
      collect() {
        for (const state of STATES) this.set({ state }, counts()[state]);
      },
    });
  }

  #serviceMetrics(): void {
    const { ingest, store, rollouts } = this.#options;
    if (ingest) {
      const counter = (name: string, help: string, read: (stats: IngestCounters) => number): void => {
        new Counter({
          name,
          help,
          registers: [this.#service],
          collect() {
            this.reset();
            this.inc(read(ingest.stats()));
          },
        });
      };
      counter("thea_fleet_ingest_messages_received_total", "Messages the broker delivered to the fleet service.", (stats) => stats.received);
      counter("thea_fleet_ingest_messages_applied_total", "Messages applied to the fleet's state.", (stats) => stats.applied);
      counter("thea_fleet_ingest_messages_duplicate_total", "Copies dropped because the other subscription brings the same message.", (stats) => stats.duplicates);
      new Counter({
        name: "thea_fleet_ingest_messages_discarded_total",
        help: "Messages discarded, by reason (too-large, invalid-json, shape, device-id, topic, cleared, over-capacity, failed).",
        labelNames: ["reason"],
        registers: [this.#service],
        collect() {
          this.reset();
          for (const [reason, count] of Object.entries(ingest.stats().discarded)) this.inc({ reason }, count);
        },
      });
    }
    if (store) {
      new Counter({
        name: "thea_fleet_store_write_failures_total",
        help: "Batches the store failed to write (kept and written again later).",
        registers: [this.#service],
        collect() {
          this.reset();
          this.inc(store.storeStats().writeFailures);
        },
      });
      new Counter({
        name: "thea_fleet_store_history_dropped_total",
        help: "History entries dropped, oldest first, while the store could not be written.",
        registers: [this.#service],
        collect() {
          this.reset();
          this.inc(store.storeStats().historyDropped);
        },
      });
    }
    if (rollouts) {
      new Gauge({
        name: "thea_fleet_rollout_boxes",
        help: "Boxes of a rollout by outcome so far (done, failed, pending).",
        labelNames: ["rollout", "outcome"],
        registers: [this.#service],
        collect() {
          this.reset();
          for (const rollout of rollouts.progress().slice(0, MAX_ROLLOUTS)) {
            for (const outcome of ["done", "failed", "pending"] as const) this.set({ rollout: rollout.id, outcome }, rollout[outcome]);
          }
        },
      });
      new Gauge({
        name: "thea_fleet_rollout_info",
        help: "Always 1: a rollout's state.",
        labelNames: ["rollout", "state"],
        registers: [this.#service],
        collect() {
          this.reset();
          for (const rollout of rollouts.progress().slice(0, MAX_ROLLOUTS)) this.set({ rollout: rollout.id, state: rollout.state }, 1);
        },
      });
    }
    if (this.#options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.#service });
  }
}

/**
 * A registry's text, one metric family at a time with the event loop let go between them: with
 * 2,050 boxes a scrape is a few pauses of the ingest and the page's streams, each one family long,
 * rather than one pause of the whole scrape. Joined as prom-client joins them.
 */
async function textOf(registry: Registry): Promise<string> {
  const families: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    families.push(await registry.getSingleMetricAsString(metric.name));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return `${families.join("\n\n")}\n`;
}

function boxLabels(row: BoxRow): BoxLabels {
  return { device_id: row.deviceId, province: row.site.province ?? "", district: row.site.district ?? "", commune: row.site.commune ?? "" };
}
