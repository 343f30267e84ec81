/**
 * The rollouts page (tools/fleet/page/rollouts.html) in a real headless Chromium, served by
 * FleetServer with a real RolloutEngine over a fake fleet whose boxes answer the release as an
 * agent would (FakeBoxLink): the fleet page links to it; it shows a rollout under way with its
 * progress per batch and its failed box with why (as text), linked to the box's page; pause and
 * resume from its buttons change the rollout itself; abort asks first (cancelling sends nothing);
 * and a page whose service names nobody shows no buttons.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReportKind } from "../../../tools/fleet/types/boxLink.ts";
import { planRollout } from "../../../tools/fleet/rollout/plan.ts";
import { rolloutRequestOf } from "../../../tools/fleet/rollout/request.ts";
import { FleetServer } from "../../../tools/fleet/server.ts";
import { pageReaches } from "../../helpers/browserFixture.ts";
import { Chromium, type Page } from "../../helpers/chromium.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeBoxLink, signedManifestText } from "../../helpers/fakeBoxLink.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { rolloutsOver, type ServedRollouts } from "../../helpers/fleetRollouts.ts";

const HOSTILE = '<img src=x id=injected onerror="document.title=1">';
const IDS = ["box-a", "box-b", "box-c", "box-d", "box-e"];

const { cleanup } = useCleanups();
let browser: Chromium | undefined;
beforeAll(async () => {
  browser = await Chromium.launch();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

interface Served {
  server: FleetServer;
  rollouts: ServedRollouts;
  link: FakeBoxLink;
}

/**
 * Five boxes on 1.4.0 that take 1.5.0 as an agent does, but box-b rolls back (its reason carrying
 * markup) and box-e stays silent once sent: with the canary (box-c) and batches of two, the
 * rollout ends up waiting on box-e in its last batch.
 */
async function serve(actWithoutRoster = true): Promise<Served> {
  const view = new FakeFleetView(IDS.map((deviceId) => boxRow(deviceId)));
  const link = new FakeBoxLink();
  link.onPublish = (deviceId: string, kind: ReportKind) => {
    if (kind !== "update" || deviceId === "box-e") return;
    setImmediate(() =>
      deviceId === "box-b"
        ? link.updateState(deviceId, { state: "rolled-back", version: "1.5.0", result: "health-check-failed", reason: `the health check failed: ${HOSTILE}; back to 1.4.0` })
        : link.updateState(deviceId, { state: "committed", version: "1.5.0", runningVersion: "1.5.0", result: "ok" }),
    );
  };
  const rollouts = await rolloutsOver(link, view, cleanup);
  const server = await FleetServer.start({ view, port: 0, rollouts: rollouts.api, actWithoutRoster });
  cleanup(() => server.stop());
  return { server, rollouts, link };
}

async function createRollout(served: Served): Promise<string> {
  const created = await fetch(new URL("/api/rollouts", served.server.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ selection: {}, release: signedManifestText({ version: "1.5.0" }), canary: 1, batchSize: 2, failureThreshold: 1 }),
  });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as { rollout: { id: string } }).rollout.id;
  // The canary and the first batch settle by themselves; the last batch waits on box-e.
  await pageless(() => served.link.published.some((entry) => entry.deviceId === "box-e"), "the last batch sent");
  await served.rollouts.engine.idle();
  return id;
}

/** Waits for a condition of the fake fleet, by the engine's own queue (no browser involved). */
async function pageless(condition: () => boolean, what: string): Promise<void> {
  for (let turns = 0; turns < 1000 && !condition(); turns += 1) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error(`never reached: ${what}`);
}

async function open(served: Served, path: string): Promise<Page> {
  if (!browser) throw new Error("no browser");
  const page = await browser.open(new URL(path, served.server.url).href);
  cleanup(() => page.close());
  return page;
}

async function click(page: Page, selector: string): Promise<void> {
  await page.pointer(selector, "down");
  await page.pointer(selector, "up");
}

const statusOf = async (served: Served, id: string) => (await served.rollouts.engine.report(id))?.rollout.status;

describe("the rollouts page", () => {
  it("is linked from the fleet page, and shows a rollout's progress per batch and its failed box with why", async () => {
    const served = await serve();
    const id = await createRollout(served);
    const fleetPage = await open(served, "/");
    const href = await pageReaches<string>(fleetPage, "the link to the rollouts", `document.getElementById("rollouts-link")?.getAttribute("href")`);
    expect(href).toBe("rollouts.html");

    const page = await open(served, `/${href}`);
    const rollout = `[data-rollout-id="${id}"]`;
    await pageReaches(page, "the rollout listed, running", `document.querySelector('${rollout} .badge')?.textContent === "running"`);
    expect(await page.evaluate<string>(`document.querySelector('${rollout} .what').textContent`)).toMatch(/^release 1\.5\.0 to 5 boxes, the canary then 2 batches; created /);
    expect(await page.evaluate<string>(`document.querySelector('${rollout} .totals').textContent`)).toBe("3 of 5 done · 1 failed · 1 in flight");
    const batches = await pageReaches<string[][]>(
      page,
      "the batches' table",
      `[...document.querySelectorAll('${rollout} .batches tbody tr')].map((row) => [...row.cells].map((cell) => cell.textContent))`,
      (rows) => rows.length === 3,
    );
    // batch, boxes, done, failed, pending, offline
    expect(batches).toEqual([
      ["canary", "1", "1", "0", "0", "0"],
      ["batch 1", "2", "1", "1", "0", "0"],
      ["batch 2", "2", "1", "0", "1", "0"],
    ]);
    const failed = await pageReaches<Array<{ text: string; href: string | null }>>(
      page,
      "the failed box",
      `[...document.querySelectorAll('${rollout} ul.failed li')].map((item) => ({ text: item.textContent, href: item.querySelector("a")?.getAttribute("href") ?? null }))`,
      (items) => items.length === 1,
    );
    expect(failed).toEqual([{ text: `box-b health-check-failed: the health check failed: ${HOSTILE}; back to 1.4.0`, href: "box.html?id=box-b" }]);
    expect(await page.evaluate<boolean>(`document.getElementById("injected") === null`)).toBe(true);
    expect(await page.evaluate<string>(`document.getElementById("may").textContent`)).toBe("You may pause, resume and abort these rollouts.");

    // The page follows the rollout: box-e's report comes, and the page shows it completed.
    served.link.updateState("box-e", { state: "committed", version: "1.5.0", runningVersion: "1.5.0", result: "ok" });
    await pageReaches(page, "the rollout completed", `document.querySelector('${rollout} .badge')?.textContent === "completed"`);
    expect(await page.evaluate<string>(`document.querySelector('${rollout} .totals').textContent`)).toBe("4 of 5 done · 1 failed");
    // The report is read again once the list says the rollout moved.
    await pageReaches<string>(page, "batch 2's two boxes done", `document.querySelector('${rollout} .batches tr[data-batch="2"]')?.cells[2].textContent`, (done) => done === "2");
    expect(await page.evaluate<number>(`document.querySelectorAll('${rollout} .controls button').length`)).toBe(0);
  }, 60_000);

  it("pauses and resumes the rollout from its buttons, and aborts it only once confirmed", async () => {
    const served = await serve();
    const id = await createRollout(served);
    const page = await open(served, "/rollouts.html");
    const rollout = `[data-rollout-id="${id}"]`;
    await pageReaches(page, "the pause button", `document.querySelector('${rollout} [data-control="pause"]') !== null`);

    await click(page, `${rollout} [data-control="pause"]`);
    await pageReaches(page, "the rollout paused", `document.querySelector('${rollout} .badge')?.textContent === "paused"`);
    expect(await statusOf(served, id)).toBe("paused");
    expect(await page.evaluate<string>(`document.querySelector('${rollout} .control-status').textContent`)).toBe("paused: now paused");
    expect(await page.evaluate<string>(`document.querySelector('${rollout} .why').textContent`)).toBe("paused by the API");
    await pageReaches(page, "the resume button", `document.querySelector('${rollout} [data-control="resume"]') !== null`);

    await click(page, `${rollout} [data-control="resume"]`);
    await pageReaches(page, "the rollout running again", `document.querySelector('${rollout} .badge')?.textContent === "running"`);
    expect(await statusOf(served, id)).toBe("running");

    // Abort asks first: cancelling sends nothing.
    await click(page, `${rollout} [data-control="abort"]`);
    await pageReaches(page, "the confirmation", `document.getElementById("confirm").open`);
    expect(await page.evaluate<string>(`document.getElementById("confirm-text").textContent`)).toMatch(new RegExp(`^Abort rollout ${id}\\?`));
    await click(page, "#confirm-cancel");
    await pageReaches(page, "not aborted", `document.querySelector('${rollout} .control-status').textContent === "not aborted"`);
    expect(await statusOf(served, id)).toBe("running");
    await click(page, `${rollout} [data-control="abort"]`);
    await pageReaches(page, "the confirmation again", `document.getElementById("confirm").open`);
    await click(page, "#confirm-ok");
    await pageReaches(page, "the rollout aborted", `document.querySelector('${rollout} .badge')?.textContent === "aborted"`);
    expect(await statusOf(served, id)).toBe("aborted");
  }, 60_000);

  it("shows no buttons where the service names nobody who may act", async () => {
    const served = await serve(false);
    const engine = served.rollouts.engine;
    // Created behind the page's back (the CLI with a person's certificate would be the real way).
    const view = new FakeFleetView(IDS.map((deviceId) => boxRow(deviceId)));
    const request = rolloutRequestOf({ selection: {}, release: signedManifestText({ version: "1.5.0" }), failureThreshold: 1 });
    if (!request.ok) throw new Error(request.error);
    const planned = planRollout(request.spec, view.list({}), Date.now());
    if (!planned.ok) throw new Error(planned.error);
    const rollout = await engine.create(request.spec, planned.plan, null);
    const page = await open(served, "/rollouts.html");
    await pageReaches(page, "the rollout listed", `document.querySelector('[data-rollout-id="${rollout.id}"] .badge')?.textContent === "running"`);
    expect(await page.evaluate<number>(`document.querySelectorAll(".controls button").length`)).toBe(0);
    expect(await page.evaluate<string>(`document.getElementById("may").textContent`)).toMatch(/^You may watch these rollouts/);
  }, 60_000);
});
