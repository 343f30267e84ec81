/**
 * The fleet's Prometheus metrics (tools/fleet/metrics.ts) scraped over HTTP from the real
 * FleetServer over the real Fleet, fed the boxes' own status and summary messages: each box's
 * figures under its id and site labels (a hostile label coming back intact), nothing made up for
 * a figure a box does not have, the counts by state, the ingest's and the store's counters, a
 * rollout's progress, the process's default metrics; values read at scrape time; a repeated
 * scrape is paced, never stale; bad requests refused as the API refuses them.
 */
import { get as httpGet } from "node:http";
import { gunzipSync } from "node:zlib";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { SiteLabels, StatusPayload, SummaryPayload } from "../../../agent/core/api.ts";
import { Fleet } from "../../../tools/fleet/fleet.ts";
import { MemoryFleetStore } from "../../../tools/fleet/memoryStore.ts";
import { acceptsGzip } from "../../../tools/fleet/serverMetrics.ts";
import { FleetMetrics, type FleetMetricsOptions, type IngestCounters, type RolloutProgress } from "../../../tools/fleet/metrics.ts";
import type { BoxRow, FleetQuery } from "../../../tools/fleet/model.ts";
import { FleetServer } from "../../../tools/fleet/server.ts";
import type { BoxState } from "../../../tools/fleet/types/boxState.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { parseExposition, valuesBy, type Exposition } from "../../helpers/promText.ts";

const { cleanup } = useCleanups();
const quiet = pino({ level: "silent" });

/** A store that can be made to fail its writes, as a full disk would. */
class FailingStore extends MemoryFleetStore {
  failing = false;
  override async upsert(states: readonly BoxState[]): Promise<void> {
    if (this.failing) throw new Error("disk full");
    await super.upsert(states);
  }
}

const online = (site: SiteLabels): StatusPayload => ({
  online: true,
  version: "1.4.0",
  startedAt: new Date().toISOString(),
  configHash: "900112fa3b254c0c",
  bootId: "boot-1",
  session: 1,
  clockSynchronized: true,
  site,
});

function summary(site: SiteLabels, patch: Partial<SummaryPayload> = {}): SummaryPayload {
  return {
    site,
    onlineSince: new Date().toISOString(),
    version: "1.4.0",
    config: { version: 3, state: "applied", refusedVersion: null },
    update: "idle",
    clockSynchronized: true,
    cpuTempC: 55,
    diskUsedPercent: 42,
    outbox: { backlog: 0, oldestAgeMin: null },
    peripherals: { connected: 2, configured: 2, down: [] },
    consultations: 0,
    ...patch,
  };
}

/** A view that notes when each scrape reads it. */
class TimedView extends FakeFleetView {
  readonly started: number[] = [];
  override list(query: FleetQuery): BoxRow[] {
    this.started.push(performance.now());
    return super.list(query);
  }
}

const DAK_LAK = { province: "Dak Lak", district: "Krong Pac", commune: "Ea Kly" };
/** Whatever a box's configuration says ends up in a label: quotes, a backslash, a newline. */
const HOSTILE = { province: 'Gia "Lai"', district: "C:\\chu-se", commune: "Ia\nBlang" };

interface Fixture {
  fleet: Fleet;
  store: FailingStore;
  ingest: IngestCounters;
  rollouts: RolloutProgress[];
  server: FleetServer;
}

async function fixture(options: Partial<FleetMetricsOptions> = {}): Promise<Fixture> {
  const store = new FailingStore();
  const fleet = new Fleet({ store, log: quiet });
  fleet.start();
  cleanup(() => fleet.stop());
  const apply = (deviceId: string, payload: StatusPayload | SummaryPayload) =>
    fleet.apply("online" in payload ? { kind: "status", deviceId, payload, retained: true } : { kind: "summary", deviceId, payload, retained: true });
  apply("dak-01", online(DAK_LAK));
  apply("dak-01", summary(DAK_LAK, { diskUsedPercent: 87, cpuTempC: 65, outbox: { backlog: 300, oldestAgeMin: 60 }, peripherals: { connected: 1, configured: 3, down: ["spo2-1", "bp-1"] } }));
  apply("gia-01", online(HOSTILE));
  apply("gia-01", summary(HOSTILE, { cpuTempC: null, clockSynchronized: null, diskUsedPercent: null, update: "downloading", version: "1.5.0-rc.1" }));
  apply("gia-02", online(HOSTILE));
  apply("gia-02", summary(HOSTILE, { clockSynchronized: false }));
  apply("gia-02", { online: false, reason: "connection-lost", bootId: "boot-1" });
  // Heard from by its status only: no summary yet, so no figures.
  apply("new-01", online({}));
  fleet.flush();
  const ingest: IngestCounters = { received: 120, applied: 100, duplicates: 15, discarded: { "too-large": 2, shape: 3, "over-capacity": 0 } };
  const rollouts: RolloutProgress[] = [{ id: "r-2026-12-03", state: "running", done: 40, failed: 2, pending: 158 }];
  const metrics = new FleetMetrics({ view: fleet, ingest: { stats: () => structuredClone(ingest) }, store: fleet, rollouts: { progress: () => rollouts }, minIntervalMs: 0, ...options });
  const server = await FleetServer.start({ view: fleet, port: 0, metrics });
  cleanup(() => server.stop());
  return { fleet, store, ingest, rollouts, server };
}

interface Reply {
  status: number;
  type: string | null;
  body: string;
}

async function get(server: FleetServer, path: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(new URL(path, server.url), init);
  return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
}

async function scrape(server: FleetServer): Promise<Exposition> {
  const reply = await get(server, "/metrics");
  expect(reply.status).toBe(200);
  expect(reply.type).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(reply.body);
}


describe("the fleet's /metrics", () => {
  it("gives each box's figures under its id and site labels, the counts by state, and the service's counters", async () => {
    const { server } = await fixture();
    const scraped = await scrape(server);
    expect(valuesBy(scraped, "thea_fleet_box_up", "device_id")).toEqual({ "dak-01": 1, "gia-01": 1, "gia-02": 0, "new-01": 1 });
    expect(valuesBy(scraped, "thea_fleet_box_disk_used_ratio", "device_id")).toEqual({ "dak-01": 0.87, "gia-02": 0.42 });
    expect(valuesBy(scraped, "thea_fleet_box_cpu_temperature_celsius", "device_id")).toEqual({ "dak-01": 65, "gia-02": 55 });
    expect(valuesBy(scraped, "thea_fleet_box_clock_synchronized", "device_id")).toEqual({ "dak-01": 1, "gia-02": 0 });
    expect(valuesBy(scraped, "thea_fleet_box_outbox_backlog", "device_id")).toEqual({ "dak-01": 300, "gia-01": 0, "gia-02": 0 });
    expect(valuesBy(scraped, "thea_fleet_box_outbox_oldest_age_seconds", "device_id")).toEqual({ "dak-01": 3600 });
    expect(valuesBy(scraped, "thea_fleet_box_peripherals_connected", "device_id")).toEqual({ "dak-01": 1, "gia-01": 2, "gia-02": 2 });
    expect(valuesBy(scraped, "thea_fleet_box_peripherals_configured", "device_id")).toEqual({ "dak-01": 3, "gia-01": 2, "gia-02": 2 });
    expect(valuesBy(scraped, "thea_fleet_box_info", "device_id")).toEqual({ "dak-01": 1, "gia-01": 1, "gia-02": 1, "new-01": 1 });

    const labelsOf = (deviceId: string) => scraped.samples.find((sample) => sample.name === "thea_fleet_box_info" && sample.labels.device_id === deviceId)?.labels;
    expect(labelsOf("dak-01")).toEqual({ device_id: "dak-01", province: "Dak Lak", district: "Krong Pac", commune: "Ea Kly", version: "1.4.0" });
    expect(labelsOf("gia-01")).toEqual({ device_id: "gia-01", ...HOSTILE, version: "1.5.0-rc.1" });
    expect(labelsOf("new-01")).toEqual({ device_id: "new-01", province: "", district: "", commune: "", version: "" });
    for (const sample of scraped.samples.filter((one) => one.name.startsWith("thea_fleet_box_"))) {
      expect(Object.keys(sample.labels).slice(0, 4)).toEqual(["device_id", "province", "district", "commune"]);
    }

    // dak-01: disk, outbox and peripherals; gia-01: updating; gia-02: clock (offline only a moment).
    expect(valuesBy(scraped, "thea_fleet_boxes", "state")).toEqual({ online: 3, offline: 1, attention: 2, updating: 1 });
    expect(valuesBy(scraped, "thea_fleet_ingest_messages_discarded_total", "reason")).toEqual({ "too-large": 2, shape: 3, "over-capacity": 0 });
    const single = (name: string) => scraped.samples.filter((sample) => sample.name === name).map((sample) => sample.value);
    expect(single("thea_fleet_ingest_messages_received_total")).toEqual([120]);
    expect(single("thea_fleet_ingest_messages_applied_total")).toEqual([100]);
    expect(single("thea_fleet_ingest_messages_duplicate_total")).toEqual([15]);
    expect(single("thea_fleet_store_write_failures_total")).toEqual([0]);
    expect(scraped.types.get("thea_fleet_ingest_messages_received_total")).toBe("counter");
    expect(scraped.types.get("thea_fleet_box_up")).toBe("gauge");
    expect(valuesBy(scraped, "thea_fleet_rollout_boxes", "outcome")).toEqual({ done: 40, failed: 2, pending: 158 });
    expect(scraped.samples.find((sample) => sample.name === "thea_fleet_rollout_info")?.labels).toEqual({ rollout: "r-2026-12-03", state: "running" });
    // prom-client's defaults, under their usual names, so existing Node.js dashboards work.
    expect(single("process_cpu_user_seconds_total")).toHaveLength(1);
    expect(single("nodejs_heap_size_used_bytes")).toHaveLength(1);
  });

  it("reads the fleet when scraped, not when a message came: a change shows in the next scrape", async () => {
    const { fleet, store, ingest, rollouts, server } = await fixture();
    expect(valuesBy(await scrape(server), "thea_fleet_box_up", "device_id")["dak-01"]).toBe(1);
    fleet.apply({ kind: "status", deviceId: "dak-01", payload: { online: false, reason: "shutdown", bootId: "boot-1" }, retained: false });
    store.failing = true;
    fleet.flush();
    ingest.received += 5;
    ingest.discarded.shape = 4;
    rollouts.splice(0, 1, { id: "r-2026-12-03", state: "halted", done: 40, failed: 9, pending: 151 });
    const scraped = await scrape(server);
    expect(valuesBy(scraped, "thea_fleet_box_up", "device_id")["dak-01"]).toBe(0);
    expect(valuesBy(scraped, "thea_fleet_boxes", "state")).toMatchObject({ online: 2, offline: 2 });
    expect(scraped.samples.find((sample) => sample.name === "thea_fleet_store_write_failures_total")?.value).toBe(1);
    expect(scraped.samples.find((sample) => sample.name === "thea_fleet_ingest_messages_received_total")?.value).toBe(125);
    expect(valuesBy(scraped, "thea_fleet_ingest_messages_discarded_total", "reason").shape).toBe(4);
    expect(valuesBy(scraped, "thea_fleet_rollout_boxes", "outcome")).toEqual({ done: 40, failed: 9, pending: 151 });
    expect(scraped.samples.find((sample) => sample.name === "thea_fleet_rollout_info")?.labels.state).toBe("halted");
  });

  it("answers HEAD without a body, and refuses parameters, other methods and another site's page as the API does", async () => {
    const { server } = await fixture();
    const head = await get(server, "/metrics", { method: "HEAD" });
    expect(head).toMatchObject({ status: 200, body: "" });
    const withParam = await get(server, "/metrics?name[]=thea_fleet_box_up");
    expect(withParam.status).toBe(400);
    expect(JSON.parse(withParam.body)).toEqual({ error: expect.stringContaining("unknown parameter") });
    expect((await get(server, "/metrics", { method: "POST" })).status).toBe(405);
    const crossSite = await get(server, "/metrics", { headers: { "sec-fetch-site": "cross-site" } });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body).not.toContain("dak-01");
  });

  it("sends gzip to a scraper that asks for it (Prometheus does) and plain text to one that does not", async () => {
    const { server } = await fixture();
    const raw = (acceptEncoding: string) =>
      new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
        httpGet(new URL("/metrics", server.url), { headers: { "accept-encoding": acceptEncoding } }, (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolve({ encoding: response.headers["content-encoding"], body: Buffer.concat(chunks) }));
        }).on("error", reject);
      });
    const zipped = await raw("gzip");
    expect(zipped.encoding).toBe("gzip");
    const plain = await raw("identity");
    expect(plain.encoding).toBeUndefined();
    const upOf = (text: string) => valuesBy(parseExposition(text), "thea_fleet_box_up", "device_id");
    expect(upOf(gunzipSync(zipped.body).toString("utf8"))).toEqual(upOf(plain.body.toString("utf8")));
    expect(upOf(plain.body.toString("utf8"))).toEqual({ "dak-01": 1, "gia-01": 1, "gia-02": 0, "new-01": 1 });
    expect(["gzip", "deflate, gzip;q=0.5", "x-gzip", "GZIP"].map(acceptsGzip)).toEqual([true, true, true, true]);
    expect(["", "identity", "gzip;q=0", "br, deflate", "gzipped"].map(acceptsGzip)).toEqual([false, false, false, false, false]);
  });

  it("is not served by a server given no metrics", async () => {
    const view = new FakeFleetView([boxRow("box-a")]);
    const server = await FleetServer.start({ view, port: 0 });
    cleanup(() => server.stop());
    const reply = await get(server, "/metrics");
    expect(reply.status).toBe(404);
    expect(reply.body).not.toContain("box-a");
  });
});

describe("FleetMetrics.scrape", () => {
  it("starts one audience's scrapes at least the interval apart, each after its request, those waiting together sharing one", async () => {
    const timed = new TimedView([boxRow("box-a")]);
    const started = timed.started;
    const metrics = new FleetMetrics({ view: timed, defaultMetrics: false, minIntervalMs: 300 });
    const up = async (text: Promise<string>) => valuesBy(parseExposition(await text), "thea_fleet_box_up", "device_id");
    expect(await up(metrics.scrape(timed, { key: "*", whole: true }))).toEqual({ "box-a": 1 });
    timed.rows.set("box-a", boxRow("box-a", { online: false }));
    // Asked at once after the first: they wait for the interval, get the change, and cost one scrape.
    const waiting = [metrics.scrape(timed, { key: "*", whole: true }), metrics.scrape(timed, { key: "*", whole: true })];
    const order: string[] = [];
    void waiting[0]?.then(() => order.push("waiting"));
    // Another audience, asked after them, is not held up by this one's pace.
    expect(await up(metrics.scrape(timed, { key: "backend.b", whole: false }).finally(() => order.push("other")))).toEqual({ "box-a": 0 });
    for (const text of waiting) expect(await up(text)).toEqual({ "box-a": 0 });
    expect(order).toEqual(["other", "waiting"]);
    expect(started).toHaveLength(3);
    expect((started[2] ?? 0) - (started[0] ?? 0)).toBeGreaterThanOrEqual(290);
    expect(await waiting[0]).toBe(await waiting[1]);
  });

  it("takes concurrent scrapes of different audiences one at a time, each over its own boxes", async () => {
    const all = new FakeFleetView([boxRow("box-a"), boxRow("box-b")]);
    const some = new FakeFleetView([boxRow("box-b")]);
    const metrics = new FleetMetrics({ view: all, defaultMetrics: false });
    const [whole, narrowed] = await Promise.all([metrics.scrape(all, { key: "*", whole: true }), metrics.scrape(some, { key: "backend.b", whole: false })]);
    expect(Object.keys(valuesBy(parseExposition(whole), "thea_fleet_box_up", "device_id"))).toEqual(["box-a", "box-b"]);
    expect(Object.keys(valuesBy(parseExposition(narrowed), "thea_fleet_box_up", "device_id"))).toEqual(["box-b"]);
  });
});
