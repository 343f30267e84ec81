/**
 * Takes docs/ pictures of the fleet service's pages again, in headless Chromium (Debian's), when a
 * page has changed (issue 16 keeps them in docs/ and asks that they be looked at):
 *
 *   node bench/fleetScreenshots.ts box [FLEET_URL]   docs/fleet-box.png: the demo box's page
 *     against a running `bin/demo` (its fleet service on the broker's port + 10, default
 *     http://127.0.0.1:18840/), with the console's live video and the log view open.
 *   node bench/fleetScreenshots.ts fleet              docs/fleet-page.png: the fleet page over an
 *     in-memory fleet of 2,050 boxes (no broker), the offline and attention ones first.
 *   node bench/fleetScreenshots.ts rollout            docs/fleet-rollout.png: the rollouts page
 *     during a release's rollout to 200 in-memory boxes (a real RolloutEngine; the boxes answer
 *     as agents do, two roll back, the current batch still installing), below a config
 *     rollout that completed.
 *
 * Prints where each picture went; asserts nothing. Look at the picture before committing it.
 */
import { chromium, type Frame, type Page } from "playwright-core";
import type { BoxRow } from "../tools/fleet/model.ts";
import { FleetServer } from "../tools/fleet/server.ts";
import { FakeFleetView, boxRow } from "../test/helpers/fakeFleetView.ts";
import { FakeBoxLink, signedManifestText } from "../test/helpers/fakeBoxLink.ts";
import { RolloutApi } from "../tools/fleet/rollout/api.ts";
import { RolloutEngine } from "../tools/fleet/rollout/engine.ts";
import { MemoryRolloutStore } from "../tools/fleet/rollout/memoryStore.ts";

const DOCS = new URL("../docs/", import.meta.url);
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--hide-scrollbars",
  // The console's WebRTC from the demo agent on this same machine, over 127.0.0.1.
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--autoplay-policy=no-user-gesture-required",
];

/**
 * Polls `expression` in a page or frame until it is truthy. Not waitForFunction: that evaluates
 * a string inside the page, which the fleet's policy (no unsafe-eval) forbids.
 */
async function until(where: Page | Frame, what: string, expression: string, timeoutMs = 30_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value: unknown = await where.evaluate(expression).catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function boxPage(page: Page, fleetUrl: string): Promise<string> {
  await page.goto(new URL("box.html?id=demo-box", fleetUrl).href);
  await until(page, "the box's state", "document.getElementById('fact-since')?.textContent.includes('online')");
  await until(page, "the console frame", "document.getElementById('console').hidden === false");
  const frame = await until(page, "the console page", "true").then(() => page.frames().find((one) => one.url().includes("/console/")));
  if (frame === undefined) throw new Error("no console frame");
  // The framed console starts no camera by itself: the person picks one, as here.
  await frame.getByRole("button", { name: "room" }).click({ timeout: 30_000 });
  // Two seconds of decoded video: the picture is the camera's, not a blank first frame.
  await until(frame, "the camera's live video", "window.theaViewer && window.theaViewer.stats().then((s) => s.framesDecoded > 60)", 60_000);
  await page.getByRole("button", { name: "Show log" }).click();
  await until(page, "the log view", "document.getElementById('log-view').hidden === false && document.getElementById('log-view').children.length > 0");
  const file = new URL("fleet-box.png", DOCS);
  await page.screenshot({ path: file.pathname, fullPage: true });
  return file.pathname;
}

const PROVINCES = ["Lào Cai", "Hà Giang", "Lai Châu", "Cao Bằng", "Sơn La", "Điện Biên"];

function box(i: number): BoxRow {
  const deviceId = `box-${String(i).padStart(4, "0")}`;
  const site = { province: PROVINCES[i % PROVINCES.length] ?? "", district: `district ${i % 41}`, commune: `commune ${i}` };
  const changes: Partial<BoxRow> = { site };
  if (i % 97 === 0) {
    const since = new Date(Date.now() - (15 + i) * 60_000).toISOString();
    Object.assign(changes, { online: false, since, lastSeenAt: since, offlineReason: "connection-lost", attention: [{ kind: "offline", forMin: 15 + i }] });
  }
  else if (i % 59 === 13) Object.assign(changes, { attention: [{ kind: "peripheral-down", ids: ["spo2-1"], more: 0 }] });
  else if (i % 211 === 7) Object.assign(changes, { attention: [{ kind: "disk-full", usedPercent: 86 }] });
  return boxRow(deviceId, changes);
}

async function fleetPage(page: Page): Promise<string> {
  const view = new FakeFleetView(Array.from({ length: 2050 }, (_, i) => box(i)));
  const server = await FleetServer.start({ view, port: 0 });
  try {
    await page.goto(server.url);
    await until(page, "every box listed", "document.body.textContent.includes('showing 2050 of 2050')");
    const file = new URL("fleet-page.png", DOCS);
    await page.screenshot({ path: file.pathname });
    return file.pathname;
  } finally {
    await server.stop();
  }
}

/** Release publishes after which a box stays `installing`: the canary (5) and two batches of 25 are done, the third under way. */
const FINISHED_PUBLISHES = 55;
const ROLLED_BACK: Record<string, string> = {
  // Sent in the canary and the first batches (site order): the rollout runs on below its 5 %.
  "box-0013": "version 1.5.0: the health check failed: spo2-1 down; back to 1.4.0",
  "box-0042": "version 1.5.0: the broker was not reached within 120 s; back to 1.4.0",
  "box-0101": "version 1.5.0 did not start 3 times; back to 1.4.0",
};

/** 200 boxes that answer as agents do: a config layer applied, a release committed or rolled back, the later ones still installing. */
function answeringLink(): FakeBoxLink {
  const link = new FakeBoxLink();
  let releases = 0;
  link.onPublish = (deviceId, kind, payload) => {
    if (kind === "config") return void setImmediate(() => link.configReported(deviceId, { version: (JSON.parse(payload) as { version: number }).version }));
    releases += 1;
    const finishes = releases <= FINISHED_PUBLISHES || releases % 2 === 0;
    const version = "1.5.0";
    setImmediate(() => {
      const reason = ROLLED_BACK[deviceId];
      if (!finishes) link.updateState(deviceId, { state: "installing", version, runningVersion: "1.4.0" });
      else if (reason) link.updateState(deviceId, { state: "rolled-back", version, runningVersion: "1.4.0", result: "health-check-failed", reason });
      else link.updateState(deviceId, { state: "committed", version, runningVersion: version, result: "ok" });
    });
  };
  return link;
}

/** Lets the simulated boxes' reports (each a turn of the event loop away) reach the engine until `done`. */
async function settled(engine: RolloutEngine, what: string, done: () => Promise<boolean>): Promise<void> {
  for (let turn = 0; turn < 10_000; turn += 1) {
    if (await done()) return;
    await new Promise((resolve) => setImmediate(resolve));
    await engine.idle();
  }
  throw new Error(`${what}: not reached`);
}

async function rolloutPage(page: Page): Promise<string> {
  const view = new FakeFleetView(Array.from({ length: 200 }, (_, i) => boxRow(`box-${String(i).padStart(4, "0")}`, { site: box(i).site })));
  const link = answeringLink();
  const engine = new RolloutEngine({ store: new MemoryRolloutStore(), link, view });
  await engine.start();
  const server = await FleetServer.start({ view, port: 0, rollouts: new RolloutApi({ engine }), actWithoutRoster: true });
  const create = async (body: unknown) => {
    const response = await fetch(new URL("/api/rollouts", server.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (response.status !== 201) throw new Error(`the rollout was refused: ${await response.text()}`);
  };
  try {
    await create({ selection: { province: "Lào Cai" }, patch: { telemetry: { healthIntervalSec: 30 } }, canary: 1, batchSize: 10 });
    await settled(engine, "the config rollout completed", async () => (await engine.list(1))[0]?.rollout.status === "completed");
    await create({ selection: {}, release: signedManifestText({ version: "1.5.0" }), canary: 5, batchSize: 25, failureThreshold: "5%" });
    await settled(engine, "the third batch sent", async () => (await engine.list(1))[0]?.rollout.currentBatch === 3);
    await page.goto(new URL("rollouts.html", server.url).href);
    const failed = (await engine.list(1))[0]?.totals.failed ?? 0;
    await until(page, "the failed boxes listed", `document.querySelectorAll('ul.failed li').length === ${failed}`);
    const file = new URL("fleet-rollout.png", DOCS);
    await page.screenshot({ path: file.pathname, fullPage: true });
    return file.pathname;
  } finally {
    await server.stop();
    await engine.stop();
  }
}

const [which = "box", fleetUrl = "http://127.0.0.1:18840/"] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: FLAGS });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  if (which === "box") console.log(`wrote ${await boxPage(page, fleetUrl)}`);
  else if (which === "fleet") console.log(`wrote ${await fleetPage(page)}`);
  else if (which === "rollout") console.log(`wrote ${await rolloutPage(page)}`);
  else throw new Error(`box, fleet or rollout, not ${which}`);
} finally {
  await browser.close();
}
