/**
 * The retained summary (issue 16) from a real agent process on a real mosquitto, with oximeters
 * on real pseudo-terminals: what a fleet page opened at any time receives, a peripheral going
 * down, and a burst of changes coalesced into one summary per interval.
 *
 * Nothing talks behind the pseudo-terminals: with silence detection off (silentAfterSec 0) a line
 * that is up counts as connected, and the changes here are cables pulled (the pseudo-terminal
 * closed), which is all the summary is about. Sparing a simulator process per oximeter keeps the
 * file well inside its time on a loaded machine.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { PeripheralState, StatusOffline, SummaryPayload } from "../../../agent/core/api.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { TestClient } from "../../helpers/mqttClient.ts";
import { PtyPair } from "../../helpers/ptyPair.ts";
import { TopicLog } from "../../helpers/topicLog.ts";

const fixture = useBroker();

const SITE = { province: "Kampong Cham", district: "Batheay", commune: "Chbar Ampov" };

interface Box {
  agent: AgentProcess;
  ptys: PtyPair[];
  summaryTopic: string;
  stateTopic: (id: string) => string;
}

/**
 * A box with `oximeters` oximeters plugged in and one blood-pressure monitor configured on a port
 * that does not exist (down from the start).
 */
async function box(options: { oximeters: number; summaryMinIntervalSec: number }): Promise<Box> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-summary-"));
  const ptys: PtyPair[] = [];
  for (let index = 0; index < options.oximeters; index++) {
    const pty = new PtyPair(dir, `ox${index}`);
    await pty.open();
    fixture.cleanup(() => pty.close());
    ptys.push(pty);
  }
  const agent = await AgentProcess.start({
    brokerUrl: fixture.broker.url,
    extraYaml: [
      `  summaryMinIntervalSec: ${options.summaryMinIntervalSec}`, // under telemetry:, which the helper writes last
      `site: { province: "${SITE.province}", district: "${SITE.district}", commune: "${SITE.commune}" }`,
      "peripherals:",
      ...ptys.map((pty, index) => `  - { id: ox${index}, driver: nonin, port: "${pty.agentEnd}", silentAfterSec: 0 }`),
      `  - { id: bp, driver: and-bp, port: "${path.join(dir, "no-such-port")}" }`,
    ].join("\n"),
  });
  fixture.cleanup(() => agent.stop());
  const root = `thea/v1/${agent.deviceId}`;
  return { agent, ptys, summaryTopic: `${root}/summary`, stateTopic: (id) => `${root}/peripherals/${id}/state` };
}

/** Resolves once the peripheral's retained state says it is no longer connected. */
function wentDown(topic: string): Promise<unknown> {
  return fixture.watcher.next(topic, (message) => (message.json() as PeripheralState).connected === false);
}

describe("the retained summary on thea/v1/{deviceId}/summary", () => {
  it("is there for a page opened later, with the site labels; a peripheral going down brings a new one; a stopped box keeps its last one beside status offline", async () => {
    const { agent, ptys, summaryTopic, stateTopic } = await box({ oximeters: 1, summaryMinIntervalSec: 1 });
    const log = await TopicLog.open<SummaryPayload>(fixture.watcher, summaryTopic);
    await log.next((summary) => summary.peripherals.connected === 1, 15_000);

    // A fleet page opened now: it subscribes after the box came online and is told at once.
    const page = await TestClient.connect(fixture.broker.url);
    fixture.cleanup(() => page.close());
    const retained = await page.next(summaryTopic);
    expect(retained.packet.retain).toBe(true);
    expect(retained.payload.length).toBeLessThanOrEqual(1024);
    expect(retained.json()).toMatchObject({
      site: SITE,
      version: expect.any(String),
      config: { version: expect.any(Number), state: "applied", refusedVersion: null },
      update: expect.any(String),
      outbox: { backlog: expect.any(Number) },
      peripherals: { connected: 1, configured: 2, down: ["bp"] },
      consultations: 0,
    });

    // The oximeter's cable pulled: a new summary says so.
    const [pty] = ptys;
    if (!pty) throw new Error("no oximeter");
    const down = wentDown(stateTopic("ox0"));
    await pty.close();
    await down;
    const after = await log.next((summary) => summary.peripherals.connected === 0, 15_000);
    expect(after.peripherals).toEqual({ connected: 0, configured: 2, down: ["ox0", "bp"] });

    // The box stopped: a page opened later sees it offline, and still where it is and what it had.
    agent.kill("SIGTERM");
    await agent.waitForExit(15_000);
    const late = await TestClient.connect(fixture.broker.url);
    fixture.cleanup(() => late.close());
    const status = await late.next(`thea/v1/${agent.deviceId}/status`);
    expect(status.json()).toMatchObject({ online: false, reason: "shutdown" } satisfies Partial<StatusOffline>);
    const kept = await late.next(summaryTopic);
    expect(kept.packet.retain).toBe(true);
    expect(kept.json()).toMatchObject({ site: SITE, peripherals: { connected: 0, down: ["ox0", "bp"] } });
  });

  it("coalesces a burst of changes: at most one summary per interval, the last one with them all", async () => {
    const intervalSec = 5;
    const { ptys, summaryTopic, stateTopic } = await box({ oximeters: 3, summaryMinIntervalSec: intervalSec });
    const log = await TopicLog.open<SummaryPayload>(fixture.watcher, summaryTopic);
    await log.next((summary) => summary.peripherals.connected === 3, 15_000);

    // Three cables pulled one after another, each seen by the agent (its retained state) before
    // the next: three separate changes, within much less than the interval on a quiet machine.
    const seenBefore = log.messages.length;
    const startedAt = Date.now();
    for (const [index, pty] of ptys.entries()) {
      const down = wentDown(stateTopic(`ox${index}`));
      await pty.close();
      await down;
    }
    const burstMs = Date.now() - startedAt;
    const last = await log.next((summary) => summary.peripherals.connected === 0, (intervalSec + 15) * 1000);
    expect(last.peripherals).toEqual({ connected: 0, configured: 4, down: ["ox0", "ox1", "ox2", "bp"] });

    // Summaries at least `intervalSec` apart: one may go out at once (the interval since the
    // previous one may have passed), then one per interval that the burst spans, the last of them
    // carrying every change. Unthrottled, each of the three changes would have been published.
    const published = log.messages.length - seenBefore;
    expect(published).toBeGreaterThanOrEqual(1);
    expect(published).toBeLessThanOrEqual(Math.floor(burstMs / (intervalSec * 1000)) + 2);
  });
});
