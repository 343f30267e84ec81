/**
 * The fleet server's two documents for machines: `/metrics` (Prometheus, metrics.ts) and
 * `/api/openapi.json` (docs/fleet-api.openapi.json, the API described). server.ts calls these
 * after its host, method, size and roster checks; what is decided here is who may scrape.
 *
 * Without a roster, whoever may read the API may scrape: the same boxes, ids and sites. With one,
 * a scrape is a machine's, not a person's: only a certificate of role `backend` (a hospital's
 * Prometheus, `backend.prometheus` in the roster) is answered, with the boxes of its sites; the
 * service's own figures (the ingest's counters, the process) only when its sites are `"*"`, as
 * they are about every box. An operator's or technician's certificate gets 403: their browser has
 * the page, and a page of another site must not turn it into a scraper.
 */
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import type { Logger } from "../../lib/log.ts";
import { METRICS_CONTENT_TYPE, type FleetMetrics } from "./metrics.ts";
import { noParams } from "./serverQuery.ts";
import type { StreamReader } from "./serverStream.ts";

export type MachineAnswer = { status: number; type: string; body: string | Buffer; encoding?: "gzip" };

const gzip = promisify(gzipCallback);

const JSON_TYPE = "application/json; charset=utf-8";
const refuse = (status: number, error: string): MachineAnswer => ({ status, type: JSON_TYPE, body: JSON.stringify({ error }) });

/** The API's OpenAPI 3.1 document, read once at start: it ships with the checkout the service runs from. */
export function readApiDocument(): Buffer {
  return readFileSync(new URL("../../docs/fleet-api.openapi.json", import.meta.url));
}

export function apiDocumentAnswer(document: Buffer, params: URLSearchParams): MachineAnswer {
  const checked = noParams(params);
  return checked.ok ? { status: 200, type: JSON_TYPE, body: document } : refuse(400, checked.error);
}

export async function metricsAnswer(
  metrics: FleetMetrics | undefined,
  reader: StreamReader,
  request: { params: URLSearchParams; crossSite: boolean; acceptEncoding: string },
  log?: Logger,
): Promise<MachineAnswer> {
  if (metrics === undefined) return refuse(404, "no such path: /metrics");
  // Prometheus sends no Fetch Metadata; a browser does, and another site's page has no business here.
  if (request.crossSite) return refuse(403, "cross-site requests to /metrics are refused");
  const checked = noParams(request.params);
  if (!checked.ok) return refuse(400, checked.error);
  const audience = reader.audience;
  if (audience !== undefined && audience.role !== "backend") {
    // Said in the log so that whoever sets up a scraper with the wrong certificate sees why.
    log?.warn({ cn: audience.cn, role: audience.role }, "refused a scrape of /metrics: not a backend's certificate");
    return refuse(403, "/metrics is for a backend's certificate (a scraper), not a person's");
  }
  const whole = audience === undefined || audience.boxes === "all";
  const text = await metrics.scrape(reader.view, { key: reader.key, whole });
  // Prometheus asks for gzip: 2,050 boxes are about 2.8 MB of text, 180 kB gzipped (docs/fleet.md).
  // Compressed on libuv's thread pool, off the event loop.
  if (acceptsGzip(request.acceptEncoding)) return { status: 200, type: METRICS_CONTENT_TYPE, body: await gzip(text), encoding: "gzip" };
  return { status: 200, type: METRICS_CONTENT_TYPE, body: text };
}

/** Whether an Accept-Encoding header takes gzip (RFC 9110 §12.5.3: listed, and not with q=0). */
export function acceptsGzip(header: string): boolean {
  return header.split(",").some((item) => {
    const [coding = "", ...params] = item.split(";").map((part) => part.trim().toLowerCase());
    const q = params.find((param) => param.startsWith("q="));
    return (coding === "gzip" || coding === "x-gzip") && (q === undefined || Number(q.slice(2)) > 0);
  });
}
