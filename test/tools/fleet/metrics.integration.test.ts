/**
 * `thea fleet serve`'s /metrics as a hospital's Prometheus scrapes it, against a real mosquitto
 * and a real agent: the box's series under its id and site labels, with its summary's figures,
 * the ingest's real counters (the box's retained status and summary received and applied), the
 * store's failures at 0, the process's metrics; and the box down once its agent stops. Changes
 * are awaited on the service's event stream, then scraped.
 */
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { BoxRow } from "../../../tools/fleet/model.ts";
import { AgentProcess, THEA_BIN } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { freePort } from "../../helpers/ports.ts";
import { parseExposition, valuesBy, type Exposition } from "../../helpers/promText.ts";
import { LineLog, terminate, within } from "../../helpers/wait.ts";

const fixture = useBroker();
const SITE = { province: "Lào Cai", district: "Bát Xát", commune: "Y Tý" };

/** Resolves once the service's event stream carries a row of `deviceId` that satisfies `match` (or the API already shows one). */
async function rowOnStream(base: URL, deviceId: string, match: (row: BoxRow) => boolean, what: string): Promise<void> {
  const controller = new AbortController();
  const response = await fetch(new URL("api/stream", base), { signal: controller.signal });
  const body = response.body;
  if (!body) throw new Error("no event stream");
  const seen = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of body) {
      text += decoder.decode(chunk, { stream: true });
      for (const [, data] of text.matchAll(/^data: (.*)$/gm)) {
        if ((JSON.parse(data ?? "{}") as { rows?: BoxRow[] }).rows?.some((row) => row.deviceId === deviceId && match(row))) return;
      }
    }
    throw new Error("the event stream ended");
  })();
  try {
    const now = await fetch(new URL(`api/boxes/${deviceId}`, base));
    if (now.status === 200 && match((await now.json()) as BoxRow)) return;
    await within(seen, 30_000, what);
  } finally {
    controller.abort();
    seen.catch(() => undefined);
  }
}

async function scrape(base: URL): Promise<Exposition> {
  const response = await fetch(new URL("metrics", base));
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

describe("thea fleet serve's /metrics", () => {
  it("gives a real box's figures under its site, the ingest's counters and the process's, and the box down when its agent stops", async () => {
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      extraYaml: `site: { province: "${SITE.province}", district: "${SITE.district}", commune: "${SITE.commune}" }`,
    });
    fixture.cleanup(() => agent.stop());
    const dataDir = await mkdtemp(path.join(tmpdir(), "thea-fleet-metrics-"));
    const port = await freePort();
    const child = spawn(THEA_BIN, ["fleet", "serve", "--broker", fixture.broker.url, "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
    fixture.cleanup(() => terminate(child, "the fleet service"));
    const log = new LineLog();
    child.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
    await log.waitForLine("the fleet service to serve", (line) => line.includes("fleet service serving"), 20_000);
    const base = new URL(`http://127.0.0.1:${port}/`);

    await rowOnStream(base, agent.deviceId, (row) => row.online && row.summary !== null, "the box online with its summary");
    const box = (await (await fetch(new URL(`api/boxes/${agent.deviceId}`, base))).json()) as BoxRow;
    const scraped = await scrape(base);
    const info = scraped.samples.find((sample) => sample.name === "thea_fleet_box_info" && sample.labels.device_id === agent.deviceId);
    expect(info?.labels).toEqual({ device_id: agent.deviceId, ...SITE, version: box.summary?.version });
    expect(valuesBy(scraped, "thea_fleet_box_up", "device_id")).toEqual({ [agent.deviceId]: 1 });
    expect(valuesBy(scraped, "thea_fleet_box_peripherals_configured", "device_id")).toEqual({ [agent.deviceId]: box.summary?.peripherals.configured });
    expect(valuesBy(scraped, "thea_fleet_box_outbox_backlog", "device_id")).toEqual({ [agent.deviceId]: box.summary?.outbox.backlog });
    expect(valuesBy(scraped, "thea_fleet_boxes", "state")).toMatchObject({ online: 1, offline: 0 });
    const one = (name: string) => scraped.samples.find((sample) => sample.name === name)?.value;
    // At least the box's retained status and summary, each applied once.
    expect(one("thea_fleet_ingest_messages_applied_total")).toBeGreaterThanOrEqual(2);
    expect(one("thea_fleet_ingest_messages_received_total")).toBeGreaterThanOrEqual(one("thea_fleet_ingest_messages_applied_total") ?? Infinity);
    expect(one("thea_fleet_store_write_failures_total")).toBe(0);
    expect(one("process_resident_memory_bytes")).toBeGreaterThan(0);

    agent.kill("SIGTERM");
    await agent.waitForExit(15_000);
    await rowOnStream(base, agent.deviceId, (row) => !row.online, "the box offline after its agent stopped");
    expect(valuesBy(await scrape(base), "thea_fleet_box_up", "device_id")).toEqual({ [agent.deviceId]: 0 });
  });
});
