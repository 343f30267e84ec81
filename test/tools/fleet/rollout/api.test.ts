/**
 * /api/rollouts through the real FleetServer: over real TLS with a roster, a technician rolls out
 * to their own sites only, sees only their rollouts, and an operator may not; on plain loopback
 * HTTP, a change is taken only as same-origin JSON of bounded size, and pause, resume and abort
 * answer what they did or why not.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { describe, expect, it } from "vitest";
import type { BoxRow } from "../../../../tools/fleet/model.ts";
import { RolloutApi } from "../../../../tools/fleet/rollout/api.ts";
import { RolloutEngine } from "../../../../tools/fleet/rollout/engine.ts";
import { MemoryRolloutStore } from "../../../../tools/fleet/rollout/memoryStore.ts";
import type { RolloutReport } from "../../../../tools/fleet/rollout/model.ts";
import type { FleetServer } from "../../../../tools/fleet/server.ts";
import { useCleanups } from "../../../helpers/cleanups.ts";
import { FakeBoxLink, FakeClock, signedManifestText } from "../../../helpers/fakeBoxLink.ts";
import { boxRow, FakeFleetView } from "../../../helpers/fakeFleetView.ts";
import { useTlsFleetServer } from "../../../helpers/tlsFleetServer.ts";

const { cleanup } = useCleanups();
const MANIFEST = signedManifestText({ version: "1.5.0" });
const MINH = "/CN=technician.minh";
const BINH = "/CN=technician.binh";
const LAN = "/CN=operator.dr-lan";
const ROSTER = `
sites:
  dak-lak:
    krong-pac:
      ea-kly: [dak-01, dak-02]
  gia-lai:
    chu-se:
      ia-blang: [gia-01, gia-02, gia-03]
people:
  operator.dr-lan: { sites: ["*"] }
  technician.minh: { sites: [gia-lai] }
  technician.binh: { sites: [dak-lak] }
`;

const tlsFleet = useTlsFleetServer({ subjects: [MINH, BINH, LAN], roster: ROSTER, cleanup });

const sited = (deviceId: string, province: string): BoxRow => boxRow(deviceId, { site: { province, district: "d", commune: "c" } });

async function serve(https: boolean, actWithoutRoster = !https): Promise<{ server: FleetServer; link: FakeBoxLink }> {
  const view = new FakeFleetView([sited("dak-01", "dak-lak"), sited("dak-02", "dak-lak"), sited("gia-01", "gia-lai"), sited("gia-02", "gia-lai"), sited("gia-03", "gia-lai")]);
  const link = new FakeBoxLink();
  const engine = new RolloutEngine({ store: new MemoryRolloutStore(), link, view, clock: new FakeClock(Date.now()) });
  await engine.start();
  cleanup(() => engine.stop());
  const rollouts = new RolloutApi({ engine });
  const server = await tlsFleet.serve({ view, rollouts, actWithoutRoster, tls: https });
  return { server, link };
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function call(server: FleetServer, options: { method?: string; path: string; body?: string; headers?: IncomingHttpHeaders; subject?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const pair = options.subject === undefined ? undefined : tlsFleet.client(options.subject);
    const headers = { host: `127.0.0.1:${server.port}`, ...(options.body !== undefined && { "content-type": "application/json" }), ...options.headers };
    const settings = { host: "127.0.0.1", port: server.port, path: options.path, method: options.method ?? "GET", headers, agent: false as const };
    const done = (response: import("node:http").IncomingMessage) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    };
    const request = pair ? httpsRequest({ ...settings, ca: tlsFleet.ca, ...pair }, done) : httpRequest(settings, done);
    request.on("error", reject);
    request.end(options.body);
  });
}

const post = (server: FleetServer, path: string, body: unknown, extra: { subject?: string; headers?: IncomingHttpHeaders } = {}) =>
  call(server, { method: "POST", path, body: JSON.stringify(body), ...extra });

describe("/api/rollouts with a roster", () => {
  it("lets a technician roll out to their sites only, shows each their own rollouts, and refuses an operator", async () => {
    const { server, link } = await serve(true);
    const request = { selection: { province: "gia-lai" }, release: MANIFEST, canary: 1, batchSize: 2 };

    const dry = await post(server, "/api/rollouts", { ...request, dryRun: true }, { subject: MINH });
    expect(dry.status).toBe(200);
    expect((dry.body.plan as { boxes: Array<{ deviceId: string; batch: number }> }).boxes.map((box) => box.deviceId).sort()).toEqual(["gia-01", "gia-02", "gia-03"]);
    expect(link.published).toEqual([]); // a dry run sends nothing

    const created = await post(server, "/api/rollouts", request, { subject: MINH });
    expect(created.status).toBe(201);
    const report = created.body as unknown as RolloutReport;
    expect(report.rollout).toMatchObject({ createdBy: "technician.minh", status: "running", target: "1.5.0" });
    expect(link.published.map((entry) => entry.deviceId)).toHaveLength(1);

    // Another technician: the rollout is not there for them, and another site's box is unknown.
    expect((await call(server, { path: `/api/rollouts/${report.rollout.id}`, subject: BINH })).status).toBe(404);
    expect((await call(server, { path: "/api/rollouts", subject: BINH })).body).toEqual({ rollouts: [], mayControl: true });
    expect((await post(server, `/api/rollouts/${report.rollout.id}/abort`, {}, { subject: BINH })).status).toBe(404);
    const foreign = await post(server, "/api/rollouts", { selection: { deviceIds: ["gia-01"] }, release: MANIFEST }, { subject: BINH });
    expect(foreign).toEqual({ status: 400, body: { error: "no box gia-01" } });
    expect(await post(server, "/api/rollouts", { selection: { province: "gia-lai" }, release: MANIFEST }, { subject: BINH })).toEqual({ status: 400, body: { error: "the selection holds no box" } });

    // The operator sees every box, and may still roll out nothing, nor read rollouts.
    expect((await post(server, "/api/rollouts", { selection: { deviceIds: ["dak-01"] }, release: MANIFEST }, { subject: LAN })).status).toBe(403);
    expect((await call(server, { path: "/api/rollouts", subject: LAN })).body).toEqual({ error: "rollouts are for technicians" });

    const mine = await call(server, { path: "/api/rollouts", subject: MINH });
    expect((mine.body.rollouts as Array<{ id: string }>).map((rollout) => rollout.id)).toEqual([report.rollout.id]);
    // The boxes of a live rollout are not given to a second one.
    expect((await post(server, "/api/rollouts", request, { subject: MINH })).status).toBe(409);
  });
});

describe("/api/rollouts on loopback", () => {
  it("lets nobody roll out without a roster unless the service says everyone may act", async () => {
    const { server, link } = await serve(false, false);
    const refused = await post(server, "/api/rollouts", { selection: { deviceIds: ["dak-01"] }, release: MANIFEST });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain("--act-without-roster");
    // Watching stays open, and says that pausing and aborting are not (the page shows no buttons).
    expect(await call(server, { path: "/api/rollouts" })).toEqual({ status: 200, body: { rollouts: [], mayControl: false } });
    expect(link.published).toEqual([]);
  });

  it("takes a change only as same-origin JSON of bounded size", async () => {
    const { server, link } = await serve(false);
    const request = { selection: { deviceIds: ["dak-01"] }, release: MANIFEST };
    expect((await post(server, "/api/rollouts", request, { headers: { "sec-fetch-site": "cross-site" } })).status).toBe(403);
    expect((await post(server, "/api/rollouts", request, { headers: { "sec-fetch-site": "same-site" } })).status).toBe(403);
    expect((await post(server, "/api/rollouts", request, { headers: { origin: "http://evil.example" } })).status).toBe(403);
    expect((await post(server, "/api/rollouts", request, { headers: { "content-type": "text/plain" } })).status).toBe(415);
    expect((await call(server, { method: "POST", path: "/api/rollouts", body: "{not json" })).status).toBe(400);
    expect((await call(server, { method: "POST", path: "/api/rollouts", body: JSON.stringify({ ...request, release: "x".repeat(600_000) }) })).status).toBe(413);
    expect((await call(server, { method: "PUT", path: "/api/rollouts" })).status).toBe(405);
    expect((await call(server, { path: "/api/rollouts?x=1" })).status).toBe(400);
    expect((await call(server, { path: "/api/rollouts", headers: { host: "evil.example" } })).status).toBe(421);
    expect(link.published).toEqual([]);
    const sameOrigin = { "sec-fetch-site": "same-origin", origin: `http://127.0.0.1:${server.port}` };
    expect((await post(server, "/api/rollouts", request, { headers: sameOrigin })).status).toBe(201);
    expect(link.published).toHaveLength(1);
  });

  it("pauses, resumes and aborts, and says why when it cannot", async () => {
    const { server } = await serve(false);
    const created = await post(server, "/api/rollouts", { selection: { province: "gia-lai" }, release: MANIFEST, canary: 1, batchSize: 1 });
    const id = (created.body as unknown as RolloutReport).rollout.id;
    expect(await post(server, `/api/rollouts/${id}/resume`, {})).toEqual({ status: 409, body: { error: `rollout ${id} is running: it cannot be resumed` } });
    expect((await post(server, `/api/rollouts/${id}/pause`, {})).body).toMatchObject({ status: "paused", statusReason: "paused by the API" });
    expect((await post(server, `/api/rollouts/${id}/resume`, {})).body).toMatchObject({ status: "running" });
    expect((await post(server, `/api/rollouts/${id}/abort`, {})).body).toMatchObject({ status: "aborted" });
    expect((await post(server, `/api/rollouts/${id}/abort`, {})).status).toBe(409);
    const report = await call(server, { path: `/api/rollouts/${id}` });
    expect(report.body).toMatchObject({ rollout: { status: "aborted" }, totals: { boxes: 3, pending: 2, inFlight: 1 } });
    expect((await call(server, { path: "/api/rollouts/nope" })).status).toBe(404);
    expect((await post(server, `/api/rollouts/${id}/restart`, {})).status).toBe(404);
  });
});
