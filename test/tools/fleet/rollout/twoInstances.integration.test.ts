/**
 * Staged rollouts with two `thea fleet serve` processes on one PostgreSQL and one mosquitto
 * (docs/fleet.md, "Two instances"), and 100 simulated boxes that take updates
 * (test/helpers/updateFleet.ts). One instance drives the rollouts; a rollout created on the other
 * runs to its end once (each box sent its release exactly once), is paused and resumed from
 * there, and reads the same from both APIs. A `kill -9` of the driving instance mid-rollout lets
 * the other take over and finish it, no box sent twice.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BoxRow } from "../../../../tools/fleet/model.ts";
import type { RolloutReport } from "../../../../tools/fleet/rollout/model.ts";
import { useCleanups } from "../../../helpers/cleanups.ts";
import { signedManifestText } from "../../../helpers/fakeBoxLink.ts";
import { startFleetServe, type FleetServeProcess } from "../../../helpers/fleetServe.ts";
import { Mosquitto } from "../../../helpers/mosquitto.ts";
import { Postgres } from "../../../helpers/postgres.ts";
import { thea } from "../../../helpers/theaCommand.ts";
import { UpdateFleet } from "../../../helpers/updateFleet.ts";
import { terminate, waitFor, within } from "../../../helpers/wait.ts";

let broker: Mosquitto | undefined;
let postgres: Postgres | undefined;
beforeAll(async () => {
  // As docs/deploy/mosquitto.conf: each service reads every box's retained status and summary at its start.
  broker = await Mosquitto.start("max_queued_messages 10000\nmax_inflight_messages 100");
  postgres = await Postgres.start();
}, 60_000);
afterAll(async () => {
  await broker?.stop();
  await postgres?.stop();
});
const { cleanup } = useCleanups();
const BOXES = 100;
const OLD = "1.4.2";
const NEW = "1.5.0";
const DRIVES = "this instance drives the rollouts";

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what} yet`);
  return value;
}

async function boxesOf(province: string): Promise<{ ids: string[]; boxes: UpdateFleet }> {
  const ids = Array.from({ length: BOXES }, (_, i) => `${province}-${String(i).padStart(3, "0")}`);
  const boxes = await UpdateFleet.start({ brokerUrl: need(broker, "broker").url, deviceIds: ids, siteOf: () => ({ province }), version: OLD });
  cleanup(() => boxes.stop());
  return { ids, boxes };
}

/** An instance on `store`; `drives`: wait until it holds the driver's lock and follows the boxes. */
async function instance(store: string, drives: boolean): Promise<FleetServeProcess> {
  const service = await startFleetServe(need(broker, "broker").url, ["--store", store, "--act-without-roster"]);
  cleanup(() => terminate(service.child, "a fleet service"));
  if (drives) {
    await service.log.waitForLine("the instance to drive the rollouts", (line) => line.includes(DRIVES), 30_000);
    await service.log.waitForLine("the rollouts to follow the boxes", (line) => line.includes("rollouts following the boxes"), 30_000);
  }
  return service;
}

/** Resolves once the service lists `total` boxes of `province` with a summary: those it had, then those its event stream brings. */
async function untilListed(service: FleetServeProcess, province: string, total: number): Promise<void> {
  const controller = new AbortController();
  const body = (await fetch(new URL("api/stream", service.url), { signal: controller.signal })).body;
  if (!body) throw new Error("no event stream");
  const listed = new Set<string>();
  const add = (rows: readonly BoxRow[]) => rows.forEach((row) => row.site.province === province && row.summary && listed.add(row.deviceId));
  const reading = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of body) {
      text += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = text.indexOf("\n\n")) >= 0) {
        const data = text.slice(0, end).split("\n").find((line) => line.startsWith("data: "));
        text = text.slice(end + 2);
        if (data) add((JSON.parse(data.slice(6)) as { rows: BoxRow[] }).rows);
        if (listed.size >= total) return;
      }
    }
  })();
  add(((await (await fetch(new URL(`api/boxes?province=${province}`, service.url))).json()) as { rows: BoxRow[] }).rows);
  try {
    if (listed.size < total) await within(reading, 30_000, `the service to list ${total} boxes of ${province}`);
  } finally {
    controller.abort();
    reading.catch(() => undefined);
  }
}

async function post(service: FleetServeProcess, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, service.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function report(service: FleetServeProcess, id: string): Promise<RolloutReport> {
  return (await (await fetch(new URL(`api/rollouts/${id}`, service.url))).json()) as RolloutReport;
}

const exited = (child: ChildProcess) => within(new Promise((resolve) => child.once("exit", resolve)), 10_000, "the killed service to exit");

describe("staged rollouts with two instances on one PostgreSQL", () => {
  it("runs a rollout created on the instance that does not drive once, paused and resumed from there, the same from both APIs", async () => {
    const { ids, boxes } = await boxesOf("both");
    const store = await need(postgres, "PostgreSQL").createDatabase();
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
    const store = await need(postgres, "PostgreSQL").createDatabase();
    const driver = await instance(store, true);
    const other = await instance(store, false);
    await untilListed(driver, "takeover", BOXES);

    // Killed as the 20th box is sent its release: the canary's 10 are done and the driver is
    // publishing the next batch, one PUBACK after another, so some of it is written `sending`
    // and published, some not. The boxes under way stand still until the other has taken over.
    const killed = waitFor<void>("20 boxes sent the release", 60_000, (done) =>
      boxes.onDelivery(() => {
        if (boxes.deliveries < 20) return;
        boxes.hold();
        driver.child.kill("SIGKILL");
        done();
      }),
    );
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
