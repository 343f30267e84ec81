/**
 * Staged rollouts as a technician runs them: the real `thea fleet serve` process, a real
 * mosquitto, 200 simulated boxes that take updates (test/helpers/updateFleet.ts), and the real
 * `thea fleet rollout` command. A release that fails on some boxes halts at the threshold, the
 * boxes not yet sent never get `update/desired` and stay on their version, and the report names
 * the failed boxes and why. A `kill -9` of the service mid-rollout, and a restart, carry the
 * rollout on where it was: no box sent the release twice, every box on the new version.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { RolloutReport } from "../../../../tools/fleet/rollout/model.ts";
import { useBroker } from "../../../helpers/brokerFixture.ts";
import { signedManifestText } from "../../../helpers/fakeBoxLink.ts";
import { getJson, rolloutsFollowing, startFleetServe, untilListed, type FleetServeProcess } from "../../../helpers/fleetServe.ts";
import { freePort } from "../../../helpers/ports.ts";
import { thea } from "../../../helpers/theaCommand.ts";
import { startUpdateFleet, UPDATE_FLEET_BROKER_CONFIG, type BoxFailure } from "../../../helpers/updateFleet.ts";
import { terminate, within } from "../../../helpers/wait.ts";

// Both tests' boxes stay on the broker, and each service reads the retained snapshot of them all.
const fixture = useBroker(UPDATE_FLEET_BROKER_CONFIG);
const BOXES = 200;
const OLD = "1.4.2";
const NEW = "1.5.0";

/** Sites in the ids' order (`PREFIX-000`, …), so the plan's site order is the ids' order. */
const siteOf = (province: string) => (deviceId: string) => {
  const index = Number(deviceId.slice(-3));
  return { province, district: `d-${Math.floor(index / 40)}`, commune: `c-${String(Math.floor(index / 10)).padStart(2, "0")}` };
};

/** A service on `dataDir` (and `port`, for a restart on the one before), stopped after the test; resolves once its rollouts follow the boxes. */
async function startService(dataDir: string, port: number): Promise<FleetServeProcess> {
  const service = await startFleetServe(fixture.broker.url, ["--data-dir", dataDir, "--act-without-roster"], { port });
  fixture.cleanup(() => terminate(service.child, "the fleet service"));
  await rolloutsFollowing(service);
  return service;
}

/** The service's API as `thea fleet rollout --api` takes it. */
const apiOf = (service: FleetServeProcess) => service.url.origin;

const report = (service: FleetServeProcess, id: string) => getJson<RolloutReport>(service, `api/rollouts/${id}`);

async function manifestFile(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-rollout-"));
  const file = path.join(dir, `thea-${NEW}.manifest.json`);
  await writeFile(file, signedManifestText({ version: NEW, url: `https://updates.example.org/thea/thea-${NEW}.tar.gz` }));
  return file;
}

describe("staged rollouts against 200 boxes", () => {
  it("halts at the threshold: the rest untouched on their version, the failed ones named with why", async () => {
    // Four boxes of the first batch after the canary fail; two more further on never get the chance.
    const failing = new Map<string, BoxFailure>([
      ["halt-001", { state: "rolled-back", result: "health-check-failed", reason: `version ${NEW}: the broker was not reached within 120 s; back to ${OLD}` }],
      ["halt-003", { state: "rolled-back", result: "crash-loop", reason: `version ${NEW} did not start 3 times; back to ${OLD}` }],
      ["halt-005", { state: "failed", result: "digest-mismatch", reason: "the bundle's SHA-256 does not match the manifest, twice" }],
      ["halt-007", { state: "rolled-back", result: "health-check-failed", reason: `version ${NEW}: the health check failed: spo2-1 down; back to ${OLD}` }],
      ["halt-150", { state: "failed", result: "install-failed", reason: "no space left on device" }],
      ["halt-151", { state: "failed", result: "install-failed", reason: "no space left on device" }],
    ]);
    const { boxes } = await startUpdateFleet({ brokerUrl: fixture.broker.url, prefix: "halt", count: BOXES, siteOf: siteOf("halt-province"), version: OLD, failing }, fixture.cleanup);
    const service = await startService(await mkdtemp(path.join(tmpdir(), "thea-fleet-")), await freePort());
    await untilListed(service, "halt-province", BOXES);
    const manifest = await manifestFile();

    const dry = await thea(["fleet", "rollout", "dry-run", "--api", apiOf(service), "--release", manifest, "--province", "halt-province", "--canary", "5", "--batch", "25", "--threshold", "3"]);
    expect(dry.stderr).toBe("");
    expect(dry.stdout).toContain(`dry run: release ${NEW} to ${BOXES} boxes, the canary then 8 batches; nothing was sent`);
    expect(dry.stdout).toContain("canary: halt-020 (1.4.2), halt-060 (1.4.2), halt-100 (1.4.2), halt-140 (1.4.2), halt-180 (1.4.2)");
    expect(boxes.deliveries).toBe(0);

    const run = await thea(["fleet", "rollout", "create", "--api", apiOf(service), "--release", manifest, "--province", "halt-province", "--canary", "5", "--batch", "25", "--threshold", "3", "--deadline", "120s"]);
    expect(run.code, run.stderr + run.stdout).toBe(3); // halted
    expect(run.stdout).toContain("halted: 4 of 30 boxes sent failed, more than the threshold (3)");
    expect(run.stdout).toMatch(/halt-005: failed digest-mismatch the bundle's SHA-256 does not match/);

    const id = /^rollout (\S+):/m.exec(run.stdout)?.[1] ?? "";
    const final = await report(service, id);
    expect(final.rollout.status).toBe("halted");
    expect(final.totals).toMatchObject({ boxes: BOXES, succeeded: 26, failed: 4, pending: 170, inFlight: 0 });
    const failed = final.boxes.filter((box) => box.state === "failed");
    expect(failed.map((box) => [box.deviceId, box.result, box.reason])).toEqual(
      ["halt-001", "halt-003", "halt-005", "halt-007"].map((deviceId) => [deviceId, failing.get(deviceId)?.result, failing.get(deviceId)?.reason]),
    );
    // The boxes never sent: no update/desired reached them, and they run what they ran.
    const untouched = final.boxes.filter((box) => box.state === "pending").map((box) => box.deviceId);
    expect(untouched).toHaveLength(170);
    expect(untouched.filter((deviceId) => boxes.received.has(deviceId))).toEqual([]);
    expect(untouched.filter((deviceId) => boxes.versionOf(deviceId) !== OLD)).toEqual([]);
    expect(boxes.received.size).toBe(30);
    const retained = await fixture.watcher.next("thea/v1/halt-150/update/desired", () => true, 1_500).catch(() => undefined);
    expect(retained).toBeUndefined();
  }, 180_000);

  it("carries on after a kill -9 of the service mid-rollout: no box sent twice, every box on the new version", async () => {
    const { ids, boxes } = await startUpdateFleet({ brokerUrl: fixture.broker.url, prefix: "kill", count: BOXES, siteOf: siteOf("kill-province"), version: OLD }, fixture.cleanup);
    const dataDir = await mkdtemp(path.join(tmpdir(), "thea-fleet-"));
    const port = await freePort();
    const first = await startService(dataDir, port);
    await untilListed(first, "kill-province", BOXES);

    // Killed at the moment the 20th box is sent its release: the canary's 10 are done, and the
    // service is publishing the first batch, 100 boxes, one PUBACK after another. The boxes under
    // way then take longer than the restart, so the restarted service finds them not done, some
    // published and some not.
    const killed = boxes.holdAt(20, () => first.child.kill("SIGKILL"));
    const created = await fetch(new URL("api/rollouts", first.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ selection: { province: "kill-province" }, release: signedManifestText({ version: NEW }), canary: 10, batchSize: 100, failureThreshold: "10%" }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as RolloutReport).rollout.id;
    await killed;
    await within(new Promise((resolve) => first.child.once("exit", resolve)), 10_000, "the killed service to exit");
    const sentBeforeTheKill = boxes.received.size;
    expect(sentBeforeTheKill).toBeLessThan(BOXES);

    const second = await startService(dataDir, port);
    const log = second.log;
    // Boxes written `sending` whose release the broker already had were not published again.
    const takenUp = JSON.parse(log.lines.find((line) => line.includes("rollout taken up after a restart")) ?? "{}") as { sending?: number; alreadyPublished?: number };
    expect(takenUp.alreadyPublished).toBeGreaterThan(0);
    boxes.release();
    const watch = await thea(["fleet", "rollout", "watch", id, "--api", apiOf(second)]);
    expect(watch.code, watch.stderr + watch.stdout).toBe(0);
    const final = await report(second, id);
    expect(final.rollout.status).toBe("completed");
    expect(final.totals).toMatchObject({ boxes: BOXES, succeeded: BOXES, failed: 0 });
    expect([...boxes.received.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(boxes.received.size).toBe(BOXES);
    expect(ids.filter((deviceId) => boxes.versionOf(deviceId) !== NEW)).toEqual([]);
    expect(log.text).toContain("rollout completed");
  }, 180_000);
});

