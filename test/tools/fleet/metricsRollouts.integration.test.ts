/**
 * A rollout's progress in `thea fleet serve`'s /metrics, as a hospital's Prometheus scrapes it:
 * the real service, a real mosquitto and three simulated boxes that take updates
 * (test/helpers/updateFleet.ts). While the canary's box stands still, the rollout is `running`
 * with every box pending; once it has ended, the scrape still shows it `completed` with its boxes
 * done and failed.
 */
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { BoxRow } from "../../../tools/fleet/model.ts";
import { THEA_BIN } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { signedManifestText } from "../../helpers/fakeBoxLink.ts";
import { freePort } from "../../helpers/ports.ts";
import { parseExposition, type Exposition } from "../../helpers/promText.ts";
import { UpdateFleet } from "../../helpers/updateFleet.ts";
import { LineLog, terminate, waitFor, within } from "../../helpers/wait.ts";

const fixture = useBroker();
const IDS = ["metro-001", "metro-002", "metro-003"];
const SITE = { province: "metrics-province", district: "d", commune: "c" };

/** Resolves once the service lists every one of IDS with a summary: those it had when asked, then those its event stream brings. */
async function untilListed(base: string): Promise<void> {
  const controller = new AbortController();
  const response = await fetch(`${base}/api/stream`, { signal: controller.signal });
  const body = response.body;
  if (!body) throw new Error("no event stream");
  const listed = new Set<string>();
  const reading = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of body) {
      text += decoder.decode(chunk, { stream: true });
      for (const [, data] of text.matchAll(/^data: (.*)$/gm)) {
        for (const row of (JSON.parse(data ?? "{}") as { rows?: BoxRow[] }).rows ?? []) if (IDS.includes(row.deviceId) && row.summary) listed.add(row.deviceId);
      }
      if (listed.size === IDS.length) return;
    }
  })();
  const now = (await (await fetch(`${base}/api/boxes?province=${SITE.province}`)).json()) as { rows: BoxRow[] };
  for (const row of now.rows) if (row.summary) listed.add(row.deviceId);
  try {
    if (listed.size < IDS.length) await within(reading, 30_000, "the service to list the three boxes");
  } finally {
    controller.abort();
    reading.catch(() => undefined);
  }
}

async function scrape(base: string): Promise<Exposition> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

/** The rollout's series: its boxes by outcome, and the state its info series names. */
function rolloutSeries(scraped: Exposition, id: string): { boxes: Record<string, number>; states: string[] } {
  const boxes: Record<string, number> = {};
  const states: string[] = [];
  for (const sample of scraped.samples) {
    if (sample.labels.rollout !== id) continue;
    if (sample.name === "thea_fleet_rollout_boxes") boxes[sample.labels.outcome ?? ""] = sample.value;
    if (sample.name === "thea_fleet_rollout_info" && sample.value === 1) states.push(sample.labels.state ?? "");
  }
  return { boxes, states };
}

describe("thea fleet serve's /metrics during a rollout", () => {
  it("shows a running rollout's boxes pending, then the ended one completed with its boxes done and failed", async () => {
    const boxes = await UpdateFleet.start({
      brokerUrl: fixture.broker.url,
      deviceIds: IDS,
      siteOf: () => SITE,
      version: "1.4.2",
      failing: new Map([["metro-003", { state: "rolled-back", result: "health-check-failed", reason: "the broker was not reached within 120 s" }]]),
    });
    fixture.cleanup(() => boxes.stop());
    const dataDir = await mkdtemp(path.join(tmpdir(), "thea-fleet-metrics-rollout-"));
    const port = await freePort();
    const child = spawn(THEA_BIN, ["fleet", "serve", "--broker", fixture.broker.url, "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--act-without-roster"], { stdio: ["ignore", "ignore", "pipe"] });
    fixture.cleanup(() => terminate(child, "the fleet service"));
    const log = new LineLog();
    child.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
    await log.waitForLine("the rollouts to follow the boxes", (line) => line.includes("rollouts following the boxes"), 30_000);
    const base = `http://127.0.0.1:${port}`;
    await untilListed(base);

    // The canary's box stands still once it has its desired state: the rollout is under way.
    boxes.hold();
    const delivered = waitFor<void>("the canary's box to receive the release", 20_000, (done) => boxes.onDelivery(done));
    const created = await fetch(`${base}/api/rollouts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ selection: { province: SITE.province }, release: signedManifestText({ version: "1.5.0" }), canary: 1, batchSize: 2, failureThreshold: 1 }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { rollout: { id: string } }).rollout.id;
    await delivered;
    expect(rolloutSeries(await scrape(base), id)).toEqual({ boxes: { done: 0, failed: 0, pending: 3 }, states: ["running"] });

    boxes.release();
    await log.waitForLine("the rollout to complete", (line) => line.includes("rollout completed") && line.includes(id), 30_000);
    expect(rolloutSeries(await scrape(base), id)).toEqual({ boxes: { done: 2, failed: 1, pending: 0 }, states: ["completed"] });
  }, 90_000);
});
