/**
 * The operator's fleet page (tools/fleet/page/) in a real headless Chromium, served by FleetServer
 * over a fake view of 2,050 boxes: every box is listed, those needing attention first and with
 * their reasons in words; the counts are the view's; a search narrows the list; a change the view
 * reports reaches the page through the event stream; a box's site label is shown as text.
 * Timings are not asserted here (bench/ prints them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BoxRow } from "../../../tools/fleet/model.ts";
import { FleetServer } from "../../../tools/fleet/server.ts";
import { pageReaches } from "../../helpers/browserFixture.ts";
import { Chromium, type Page } from "../../helpers/chromium.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";

const FLEET_SIZE = 2050;
const HOSTILE_LABEL = '<img src=x id=injected onerror="document.title=1">';
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

function fleetOf(size: number): BoxRow[] {
  return Array.from({ length: size }, (_, i) => {
    const deviceId = `box-${String(i).padStart(4, "0")}`;
    const site = { province: `province-${i % 60}`, district: `district-${i % 300}`, commune: i === 7 ? HOSTILE_LABEL : `commune-${i}` };
    // Every 97th box offline, longest first by its index; every 101st with a full disk.
    if (i % 97 === 5) return boxRow(deviceId, { site, online: false, since: minutesAgo(30 + i), offlineReason: "connection-lost", attention: [{ kind: "offline", forMin: 30 + i }] });
    if (i % 101 === 3) return boxRow(deviceId, { site, attention: [{ kind: "disk-full", usedPercent: 87 }, { kind: "peripheral-down", ids: ["spo2-1"], more: 0 }] });
    return boxRow(deviceId, { site });
  });
}

/** The rows the table shows (laid out, so the user sees them), top to bottom. */
const DRAWN = `[...document.querySelectorAll("#list .row")].filter((row) => row.getClientRects().length > 0)
  .map((row) => ({ y: Number(/translateY\\((\\d+)/.exec(row.style.transform)?.[1]), id: row.dataset.deviceId, state: row.dataset.state,
    site: row.querySelector("[data-column=site]").textContent, reasons: row.querySelector("[data-column=reasons]").textContent }))
  .sort((a, b) => a.y - b.y)`;
type Drawn = Array<{ y: number; id: string; state: string; site: string; reasons: string }>;
const COUNTS = `Object.fromEntries(["online", "offline", "attention", "updating", "total"].map((name) => [name, Number(document.getElementById("count-" + name).textContent)]))`;

const { cleanup } = useCleanups();
let browser: Chromium | undefined;
beforeAll(async () => {
  browser = await Chromium.launch();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

async function openFleetPage(view: FakeFleetView): Promise<Page> {
  if (!browser) throw new Error("no browser");
  const server = await FleetServer.start({ view, port: 0, streamIntervalMs: 100 });
  cleanup(() => server.stop());
  const page = await browser.open(server.url);
  cleanup(() => page.close());
  await pageReaches(page, `all ${view.rows.size} boxes listed`, `document.getElementById("list").dataset.shown`, (shown) => shown === String(view.rows.size));
  return page;
}

describe("the fleet page", () => {
  it("lists every box, those needing attention first with their reasons in words, under the view's counts", async () => {
    const view = new FakeFleetView(fleetOf(FLEET_SIZE));
    const page = await openFleetPage(view);
    expect(await page.evaluate(COUNTS)).toEqual(view.counts());
    const expected = view.list({});
    const urgent = expected.filter((row) => row.attention.length > 0);
    const top = await page.evaluate<Drawn>(DRAWN);
    expect(top.length).toBeGreaterThan(5);
    expect(top.map((row) => row.id)).toEqual(expected.slice(0, top.length).map((row) => row.deviceId));
    // The longest offline first, then the rest of those needing attention.
    expect(top[0]).toMatchObject({ id: urgent[0]?.deviceId, state: "offline" });
    // box-2042, offline 30 + 2042 minutes.
    expect(top[0]).toMatchObject({ id: "box-2042", reasons: "offline 1 d 10 h" });
    // The last box of the view is reached by scrolling to the end.
    await page.evaluate(`document.getElementById("list").scrollTop = 1e9`);
    await pageReaches<Drawn>(page, "the last box drawn", DRAWN, (rows) => rows.at(-1)?.id === expected.at(-1)?.deviceId);
  });

  it("narrows the list to what the search finds, and shows a site label as text", async () => {
    const view = new FakeFleetView(fleetOf(FLEET_SIZE));
    const page = await openFleetPage(view);
    await page.evaluate(`(() => { const search = document.getElementById("search"); search.value = "box-000"; search.dispatchEvent(new Event("input")); })()`);
    await pageReaches(page, "the ten boxes box-0000…box-0009", `document.getElementById("list").dataset.shown`, (shown) => shown === "10");
    const rows = await pageReaches<Drawn>(page, "the found boxes drawn", DRAWN, (drawn) => drawn.length === 10);
    // The offline one, then the one with a full disk, then the rest by id.
    expect(rows.map((row) => row.id)).toEqual(["box-0005", "box-0003", "box-0000", "box-0001", "box-0002", "box-0004", "box-0006", "box-0007", "box-0008", "box-0009"]);
    expect(rows[0]).toMatchObject({ state: "offline", reasons: "offline 35 min" });
    expect(rows[1]).toMatchObject({ state: "attention", reasons: "disk 87 % · peripheral down: spo2-1" });
    expect(rows.find((row) => row.id === "box-0007")?.site).toBe(`province-7 / district-7 / ${HOSTILE_LABEL}`);
    expect(await page.evaluate("document.getElementById('injected') === null && document.title")).toBe("thea fleet");
  });

  it("shows a change the view reports, through the event stream, without reloading", async () => {
    const view = new FakeFleetView(fleetOf(FLEET_SIZE));
    const page = await openFleetPage(view);
    const before = view.counts();
    // box-1000 goes offline, the longest of all: it moves to the top of the list.
    const row = view.box("box-1000");
    if (!row) throw new Error("no box-1000");
    view.change({ ...row, online: false, since: minutesAgo(100_000), lastSeenAt: new Date().toISOString(), attention: [{ kind: "offline", forMin: 100_000 }] });
    const top = await pageReaches<Drawn>(page, "box-1000 offline at the top", DRAWN, (rows) => rows[0]?.id === "box-1000");
    expect(top[0]).toMatchObject({ state: "offline", reasons: expect.stringMatching(/^offline 69 d/) });
    expect(await page.evaluate(COUNTS)).toEqual({ ...before, online: before.online - 1, offline: before.offline + 1, attention: before.attention + 1 });
  });
});
