/**
 * One box's page (tools/fleet/page/box.html) in a real headless Chromium, served by FleetServer
 * over a fake view and a fake BoxLink: the fleet page links to it; it shows the box, its
 * availability and history; a restart is sent only after the person confirms it (cancelling sends
 * nothing), and again with force only after they choose to cut a live consultation; the log view
 * shows the box's lines as text; an operator's page offers only the watching actions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BoxCommand } from "../../../tools/fleet/types/boxLink.ts";
import { FleetServer } from "../../../tools/fleet/server.ts";
import { pageReaches } from "../../helpers/browserFixture.ts";
import { Chromium, type Page } from "../../helpers/chromium.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeBoxLink } from "../../helpers/fakeBoxLink.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";

const HOSTILE = '<img src=x id=injected onerror="document.title=1">';

const { cleanup } = useCleanups();
let browser: Chromium | undefined;
beforeAll(async () => {
  browser = await Chromium.launch();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

async function open(path: string, link: FakeBoxLink, actWithoutRoster = true): Promise<Page> {
  if (!browser) throw new Error("no browser");
  const view = new FakeFleetView([boxRow("box-a", { site: { province: "Lao Cai", commune: HOSTILE } }), boxRow("box-b")]);
  const server = await FleetServer.start({ view, port: 0, link, actWithoutRoster, streamIntervalMs: 100 });
  cleanup(() => server.stop());
  const page = await browser.open(new URL(path, server.url).href);
  cleanup(() => page.close());
  return page;
}

async function click(page: Page, selector: string): Promise<void> {
  await page.pointer(selector, "down");
  await page.pointer(selector, "up");
}

const names = (link: FakeBoxLink) => link.commands.map((command) => command.name);

describe("the box page", () => {
  it("is linked from the fleet page, and shows the box and its history", async () => {
    const link = new FakeBoxLink();
    const fleetPage = await open("/", link);
    const href = await pageReaches<string>(fleetPage, "a link on box-a's row", `document.querySelector('[data-device-id="box-a"] [data-column=id]')?.getAttribute("href")`);
    expect(href).toBe("box.html?id=box-a");
    const page = await open(`/${href}`, link);
    await pageReaches(page, "the box's id", `document.getElementById("box-id").textContent === "box-a"`);
    await pageReaches(page, "its 30 days drawn", `document.querySelectorAll("#days .day").length === 30`);
    await pageReaches(page, "its history listed", `document.querySelector("#events li")?.textContent.includes("offline: connection lost")`);
    expect(await page.evaluate<string>(`document.getElementById("fact-site").textContent`)).toContain(HOSTILE);
    expect(await page.evaluate<boolean>(`document.getElementById("injected") === null`)).toBe(true);
    // The page lists the peripherals by itself (a watching command).
    await pageReaches(page, "the peripherals listed", `document.getElementById("action-status").textContent === "peripherals listed"`);
    expect(names(link)).toContain("peripherals.list");
  });

  it("asks before a restart: cancelling sends nothing, confirming sends it, a live consultation asks again", async () => {
    const link = new FakeBoxLink();
    link.answers.set("agent.restart", (request: BoxCommand) =>
      request.params?.force === true ? { ok: true, result: { restarting: true } } : { ok: false, error: { code: "consultation-live", message: "a viewer session is live" } },
    );
    const page = await open("/box.html?id=box-a", link);
    const restart = '[data-action="agent.restart"]';
    await pageReaches(page, "the restart button", `document.querySelector('${restart}') !== null`);
    await click(page, restart);
    await pageReaches(page, "the confirmation dialog open", `document.getElementById("confirm").open`);
    expect(await page.evaluate<string>(`document.getElementById("confirm-text").textContent`)).toMatch(/^Restart the agent on box-a\?/);
    await click(page, "#confirm-cancel");
    await pageReaches(page, "cancelled", `document.getElementById("action-status").textContent === "cancelled"`);
    expect(names(link)).not.toContain("agent.restart");

    await click(page, restart);
    await pageReaches(page, "the dialog again", `document.getElementById("confirm").open`);
    await click(page, "#confirm-ok");
    // The box says a consultation is live: the person is asked again, and must choose to force.
    await pageReaches(page, "the dialog with the choice to force", `document.getElementById("confirm").open && !document.getElementById("confirm-live").hidden`);
    expect(link.commands.filter((command) => command.name === "agent.restart").map((command) => command.params)).toEqual([{}]);
    expect(await page.evaluate<boolean>(`document.getElementById("confirm-ok").disabled`)).toBe(true);
    await click(page, "#confirm-force");
    await click(page, "#confirm-ok");
    await pageReaches(page, "restarting", `document.getElementById("action-status").textContent.includes("restarting")`);
    expect(link.commands.filter((command) => command.name === "agent.restart").map((command) => command.params)).toEqual([{}, { force: true }]);
  });

  it("shows the box's log lines, as text, in the log view", async () => {
    const link = new FakeBoxLink();
    link.answers.set("logs.tail", {
      ok: true,
      result: {
        lines: [
          { level: "info", time: "2026-12-03T10:00:00.000Z", msg: "agent started", ns: "agent" },
          { level: "warn", time: "2026-12-03T10:00:01.000Z", msg: HOSTILE, peripheral: "spo2" },
        ],
      },
    });
    const page = await open("/box.html?id=box-a", link);
    await pageReaches(page, "the log button", `document.querySelector('[data-action="logs.tail"]') !== null`);
    await click(page, '[data-action="logs.tail"]');
    const lines = await pageReaches<string[]>(page, "two log lines", `[...document.querySelectorAll("#log-view .log-line")].map((line) => line.textContent)`, (shown) => shown.length === 2);
    expect(lines[0]).toBe("2026-12-03 10:00:00Z info  agent started  ns=agent");
    expect(lines[1]).toContain(HOSTILE);
    expect(await page.evaluate<boolean>(`document.getElementById("injected") === null`)).toBe(true);
    expect(link.commands.find((command) => command.name === "logs.tail")?.params).toEqual({ lines: 100, level: "info" });
  });

  it("shows config/reported beside the editor, lists every problem of a refused layer, and publishes a good one", async () => {
    const link = new FakeBoxLink();
    link.reports.set("box-a", { version: 3, hash: "abc", appliedAt: null, state: "applied", lastError: null, config: { deviceId: "box-a", telemetry: { healthIntervalSec: 60 } } });
    const page = await open("/box.html?id=box-a", link);
    await pageReaches(page, "the editor, prefilled with the next version", `JSON.parse(document.getElementById("desired-text").value || "{}").version === 4`);
    expect(await page.evaluate<string>(`document.getElementById("reported-facts").textContent`)).toContain("applied");
    // The agent's schema as hints: every top-level key, with what may not be set from afar.
    const hint = await pageReaches<string>(page, "the schema's hints", `[...document.querySelectorAll("#config-keys dt")].find((term) => term.textContent === "update")?.nextElementSibling.textContent ?? ""`);
    expect(hint).toMatch(/^never from afar\./);
    const write = (layer: unknown) => page.evaluate(`document.getElementById("desired-text").value = ${JSON.stringify(JSON.stringify(layer))}`);
    await write({ version: 4, patch: { update: {}, telemetry: { healthIntervalSec: "often" } } });
    await click(page, "#desired-publish");
    const problems = await pageReaches<string[]>(page, "the problems listed", `[...document.querySelectorAll("#desired-errors li")].map((item) => item.textContent)`, (shown) => shown.length === 2);
    expect(problems).toEqual(["update: cannot be set remotely", expect.stringMatching(/^telemetry\.healthIntervalSec: /)]);
    expect(link.published).toEqual([]);
    await write({ version: 4, patch: { telemetry: { healthIntervalSec: 30 } } });
    await click(page, "#desired-publish");
    await pageReaches(page, "published", `document.getElementById("desired-status").textContent.startsWith("version 4 published")`);
    expect(link.published.map((published) => JSON.parse(published.payload) as unknown)).toEqual([{ version: 4, patch: { telemetry: { healthIntervalSec: 30 } } }]);
  });

  it("offers nobody any action without a roster, and says why", async () => {
    const link = new FakeBoxLink();
    const page = await open("/box.html?id=box-a", link, false);
    await pageReaches(page, "the reason", `document.getElementById("role").textContent.includes("nobody may act")`);
    expect(await page.evaluate<number>(`document.querySelectorAll("#action-buttons button").length`)).toBe(0);
    expect(await page.evaluate<boolean>(`document.getElementById("config").hidden`)).toBe(true);
    expect(link.commands).toEqual([]);
  });
});
