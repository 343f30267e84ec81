/**
 * Staged rollouts with two `thea fleet serve` processes on one PostgreSQL and one mosquitto
 * (docs/fleet.md, "Two instances"), and 100 simulated boxes that take updates
 * (test/helpers/updateFleet.ts). One instance drives the rollouts; a rollout created on the other
 * runs to its end once (each box sent its release exactly once), is paused and resumed from
 * there, and reads the same from both APIs. A `kill -9` of the driving instance mid-rollout lets
 * the other take over and finish it, no box sent twice.
 */
import type { ChildProcess } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { RolloutReport } from "../../../../tools/fleet/rollout/model.ts";
import { useBroker } from "../../../helpers/brokerFixture.ts";
import { signedManifestText } from "../../../helpers/fakeBoxLink.ts";
import { getJson, rolloutsFollowing, startFleetServe, untilListed, type FleetServeProcess } from "../../../helpers/fleetServe.ts";
import { usePostgres } from "../../../helpers/postgresFixture.ts";
import { thea } from "../../../helpers/theaCommand.ts";
import { startUpdateFleet, UPDATE_FLEET_BROKER_CONFIG } from "../../../helpers/updateFleet.ts";
import { terminate, within } from "../../../helpers/wait.ts";

const fixture = useBroker(UPDATE_FLEET_BROKER_CONFIG);
const postgres = usePostgres();
const { cleanup } = fixture;
const BOXES = 100;
const OLD = "1.4.2";
const NEW = "1.5.0";
const DRIVES = "this instance drives the rollouts";

const boxesOf = (province: string) => startUpdateFleet({ brokerUrl: fixture.broker.url, prefix: province, count: BOXES, siteOf: () => ({ province }), version: OLD }, cleanup);

/** An instance on `store`; `drives`: wait until it holds the driver's lock and follows the boxes. */
async function instance(store: string, drives: boolean): Promise<FleetServeProcess> {
  const service = await startFleetServe(fixture.broker.url, ["--store", store, "--act-without-roster"]);
  cleanup(() => terminate(service.child, "a fleet service"));
  if (drives) {
    await service.log.waitForLine("the instance to drive the rollouts", (line) => line.includes(DRIVES), 30_000);
    await rolloutsFollowing(service);
  }
  return service;
}

async function post(service: FleetServeProcess, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, service.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

const report = (service: FleetServeProcess, id: string) => getJson<RolloutReport>(service, `api/rollouts/${id}`);

const exited = (child: ChildProcess) => within(new Promise((resolve) => child.once("exit", resolve)), 10_000, "the killed service to exit");

describe("staged rollouts with two instances on one PostgreSQL", () => {
  it("runs a rollout created on the instance that does not drive once, paused and resumed from there, the same from both APIs", async () => {
    const { ids, boxes } = await boxesOf("both");
    const store = await postgres.server.createDatabase();
    const driver = await instance(store, true);
    const other = await instance(store, false);
    await untilListed(other, "both", BOXES);
    // The canary's boxes stand still until released: the pause below lands while it is under way.
    boxes.hold();
    const created = await post(other, "api/rollouts", { selection: { province: "both" }, release: signedManifestText({ version: NEW }), canary: 10, batchSize: 45, failureThreshold: "10%" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = (created.body as RolloutReport).rollout.id;
    expect((created.body as RolloutReport).totals).toMatchObject({ boxes: BOXES, inFlight: 10, pending: 90 });

    const paused = await post(other, `api/rollouts/${id}/pause`, {});
    expect(paused).toMatchObject({ status: 200, body: { status: "paused" } });
    expect((await report(driver, id)).rollout.status).toBe("paused");
    expect(await post(other, `api/rollouts/${id}/pause`, {})).toMatchObject({ status: 409 });
    expect(await post(other, `api/rollouts/${id}/resume`, {})).toMatchObject({ status: 200, body: { status: "running" } });
    boxes.release();

    const watch = await thea(["fleet", "rollout", "watch", id, "--api", other.url.href.replace(/\/$/, "")]);
    expect(watch.code, watch.stderr + watch.stdout).toBe(0);
    const [fromDriver, fromOther] = await Promise.all([report(driver, id), report(other, id)]);
    expect(fromDriver.rollout.status).toBe("completed");
    expect(fromDriver.totals).toMatchObject({ boxes: BOXES, succeeded: BOXES, failed: 0 });
    expect(fromOther).toEqual(fromDriver);
    expect([...boxes.received.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(boxes.received.size).toBe(BOXES);
    expect(ids.filter((deviceId) => boxes.versionOf(deviceId) !== NEW)).toEqual([]);
    // Only one of the two ever drove.
    expect(other.log.text).not.toContain(DRIVES);
  }, 180_000);

  it("lets the other instance take over after a kill -9 of the driving one, and finish without sending any box twice", async () => {
    const { ids, boxes } = await boxesOf("takeover");
    const store = await postgres.server.createDatabase();
    const driver = await instance(store, true);
    const other = await instance(store, false);
    await untilListed(driver, "takeover", BOXES);

    // Killed as the 20th box is sent its release: the canary's 10 are done and the driver is
    // publishing the next batch, one PUBACK after another, so some of it is written `sending`
    // and published, some not. The boxes under way stand still until the other has taken over.
    const killed = boxes.holdAt(20, () => driver.child.kill("SIGKILL"));
    const created = await post(driver, "api/rollouts", { selection: { province: "takeover" }, release: signedManifestText({ version: NEW }), canary: 10, batchSize: 90, failureThreshold: "10%" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = (created.body as RolloutReport).rollout.id;
    await killed;
    await exited(driver.child);
    expect(boxes.received.size).toBeLessThan(BOXES);

    await other.log.waitForLine("the other instance to take over", (line) => line.includes(DRIVES), 30_000);
    const takenUp = await other.log.waitForLine("the rollout to be taken up", (line) => line.includes("rollout taken up after a restart"), 30_000);
    // Boxes written `sending` whose release the broker already had were not published again.
    expect((JSON.parse(takenUp) as { alreadyPublished?: number }).alreadyPublished).toBeGreaterThan(0);
    boxes.release();
    const watch = await thea(["fleet", "rollout", "watch", id, "--api", other.url.href.replace(/\/$/, "")]);
    expect(watch.code, watch.stderr + watch.stdout).toBe(0);
    const final = await report(other, id);
    expect(final.rollout.status).toBe("completed");
    expect(final.totals).toMatchObject({ boxes: BOXES, succeeded: BOXES, failed: 0 });
    expect([...boxes.received.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(boxes.received.size).toBe(BOXES);
    expect(ids.filter((deviceId) => boxes.versionOf(deviceId) !== NEW)).toEqual([]);
  }, 180_000);
});
