/**
 * Takes docs/ pictures of the fleet service's pages again, in headless Chromium (Debian's), when a
 * page has changed (issue 16 keeps them in docs/ and asks that they be looked at):
 *
 *   node bench/fleetScreenshots.ts box [FLEET_URL]   docs/fleet-box.png: the demo box's page
 *     against a running `bin/demo` (its fleet service on the broker's port + 10, default
 *     http://127.0.0.1:18840/), with the console's live video and the log view open.
 *   node bench/fleetScreenshots.ts fleet              docs/fleet-page.png: the fleet page over an
 *     in-memory fleet of 2,050 boxes (no broker), the offline and attention ones first.
 *
 * Prints where each picture went; asserts nothing. Look at the picture before committing it.
 */
import { chromium, type Frame, type Page } from "playwright-core";
import type { BoxRow } from "../tools/fleet/model.ts";
import { FleetServer } from "../tools/fleet/server.ts";
import { FakeFleetView, boxRow } from "../test/helpers/fakeFleetView.ts";

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

const [which = "box", fleetUrl = "http://127.0.0.1:18840/"] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: FLAGS });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  if (which === "box") console.log(`wrote ${await boxPage(page, fleetUrl)}`);
  else if (which === "fleet") console.log(`wrote ${await fleetPage(page)}`);
  else throw new Error(`box or fleet, not ${which}`);
} finally {
  await browser.close();
}
