/**
 * `thea fleet serve` as a hospital runs it, against a real mosquitto and a real agent process: the
 * box appears in the API with its site and summary as soon as the service has the box's retained
 * messages, goes offline when the agent stops, and the service keeps what it knew across its own
 * restart (the SQLite store in its data directory). Changes are awaited on the service's own event
 * stream (/api/stream), as the page does, never by polling with sleeps.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { BoxRow } from "../../../tools/fleet/model.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { nextRow, startFleetServe, type FleetServeProcess } from "../../helpers/fleetServe.ts";
import { terminate } from "../../helpers/wait.ts";

const fixture = useBroker();
const SITE = { province: "Lào Cai", district: "Bát Xát", commune: "Y Tý" };

/** A fleet service on `dataDir`, stopped after the test if the test has not stopped it. */
async function startFleet(dataDir: string): Promise<FleetServeProcess> {
  const fleet = await startFleetServe(fixture.broker.url, ["--data-dir", dataDir]);
  fixture.cleanup(() => terminate(fleet.child, "the fleet service"));
  return fleet;
}

describe("thea fleet serve", () => {
  it("shows a real box with its site and summary, sees it go offline, and remembers it across its own restart", async () => {
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      extraYaml: `site: { province: "${SITE.province}", district: "${SITE.district}", commune: "${SITE.commune}" }`,
    });
    fixture.cleanup(() => agent.stop());
    const dataDir = await mkdtemp(path.join(tmpdir(), "thea-fleet-"));
    const fleet = await startFleet(dataDir);

    const online = await nextRow(fleet, agent.deviceId, (row) => row.online && row.summary !== null, "the box online with its summary");
    expect(online.site).toEqual(SITE);
    expect(online.summary?.version).toEqual(expect.any(String));
    const counts = (await (await fetch(new URL("api/counts", fleet.url))).json()) as { total: number; online: number };
    expect(counts).toMatchObject({ total: 1, online: 1 });

    agent.kill("SIGTERM"); // a clean stop: the agent says goodbye ("shutdown") before it goes
    await agent.waitForExit(15_000);
    const offline = await nextRow(fleet, agent.deviceId, (row) => !row.online, "the box offline after its agent stopped");
    expect(offline.offlineReason).toBe("shutdown");

    await terminate(fleet.child, "the fleet service");
    expect(fleet.child.exitCode).toBe(0);
    const again = await startFleet(dataDir);
    const remembered = (await (await fetch(new URL(`api/boxes/${agent.deviceId}`, again.url))).json()) as BoxRow;
    expect(remembered).toMatchObject({ deviceId: agent.deviceId, online: false, site: SITE });
  });
});
