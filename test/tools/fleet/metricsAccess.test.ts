/**
 * Who may scrape the fleet's /metrics when the service has a roster, over real TLS with client
 * certificates made by openssl: a backend whose sites are "*" (a hospital's Prometheus) gets every
 * box and the service's own figures; a backend of one province gets that province's boxes and
 * nothing service-wide (an ingest total would tell how large the rest of the fleet is); a person
 * (operator, technician) and a certificate the roster does not name get 403 with nothing of the
 * fleet in it.
 */
import { describe, expect, it } from "vitest";
import { FleetMetrics } from "../../../tools/fleet/metrics.ts";
import type { FleetServer } from "../../../tools/fleet/server.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { parseExposition, valuesBy } from "../../helpers/promText.ts";
import { useTlsFleetServer, type HttpsReply } from "../../helpers/tlsFleetServer.ts";

const { cleanup } = useCleanups();

const PROMETHEUS = "/CN=backend.prometheus";
const DAK_SCRAPER = "/CN=backend.dak-lak-grafana";
const LAN = "/CN=operator.dr-lan";
const MINH = "/CN=technician.minh";
const STRANGER = "/CN=backend.not-on-the-roster";

const ROSTER = `
sites:
  dak-lak:
    krong-pac:
      ea-kly: [dak-01, dak-02]
  gia-lai:
    chu-se:
      ia-blang: [gia-01]
people:
  backend.prometheus: { sites: ["*"] }
  backend.dak-lak-grafana: { sites: [dak-lak] }
  operator.dr-lan: { sites: [dak-lak] }
  technician.minh: { sites: ["*"] }
`;

const tlsFleet = useTlsFleetServer({ subjects: [PROMETHEUS, DAK_SCRAPER, LAN, MINH, STRANGER], roster: ROSTER, cleanup });

async function serve(): Promise<FleetServer> {
  const view = new FakeFleetView([boxRow("dak-01"), boxRow("dak-02", { online: false }), boxRow("gia-01"), boxRow("elsewhere-01")]);
  const metrics = new FleetMetrics({ view, ingest: { stats: () => ({ received: 9, applied: 9, duplicates: 0, discarded: {} }) }, minIntervalMs: 0 });
  return tlsFleet.serve({ view, metrics });
}

const scrapeAs = (server: FleetServer, subject: string): Promise<HttpsReply> => tlsFleet.get(server, subject, "/metrics");

describe("/metrics with a roster", () => {
  it("answers a backend that sees every box with every box and the service's own figures", async () => {
    const server = await serve();
    const reply = await scrapeAs(server, PROMETHEUS);
    expect(reply.status).toBe(200);
    const scraped = parseExposition(reply.body);
    expect(valuesBy(scraped, "thea_fleet_box_up", "device_id")).toEqual({ "dak-01": 1, "dak-02": 0, "gia-01": 1, "elsewhere-01": 1 });
    expect(valuesBy(scraped, "thea_fleet_boxes", "state")).toMatchObject({ online: 3, offline: 1 });
    expect(scraped.samples.some((sample) => sample.name === "thea_fleet_ingest_messages_received_total")).toBe(true);
    expect(scraped.samples.some((sample) => sample.name === "process_resident_memory_bytes")).toBe(true);
  });

  it("answers a backend of one province with its boxes and counts only, and nothing about the whole service", async () => {
    const server = await serve();
    const reply = await scrapeAs(server, DAK_SCRAPER);
    expect(reply.status).toBe(200);
    const scraped = parseExposition(reply.body);
    expect(valuesBy(scraped, "thea_fleet_box_up", "device_id")).toEqual({ "dak-01": 1, "dak-02": 0 });
    expect(valuesBy(scraped, "thea_fleet_boxes", "state")).toEqual({ online: 1, offline: 1, attention: 0, updating: 0 });
    expect(scraped.samples.filter((sample) => !sample.name.startsWith("thea_fleet_box"))).toEqual([]);
    expect(reply.body).not.toMatch(/gia-01|elsewhere-01|Gia Lai/);
  });

  it("refuses a person's certificate, even one that sees every box, and one the roster does not name", async () => {
    const server = await serve();
    for (const subject of [LAN, MINH, STRANGER]) {
      const reply = await scrapeAs(server, subject);
      expect(reply.status, subject).toBe(403);
      expect(JSON.parse(reply.body), subject).toEqual({ error: expect.any(String) });
      expect(reply.body, subject).not.toMatch(/dak-01|gia-01|thea_fleet/);
    }
  });
});
