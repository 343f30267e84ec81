/**
 * The box page's actions as a hospital runs them: the real `thea fleet serve` over HTTPS with a
 * roster and client certificates, a real mosquitto and a real agent process. A technician's
 * rescan, log view, diagnostics (the file checks out and opens) and config change (applied by the
 * box, and shown as reported) go through; an operator sees the page but is refused each of them;
 * POSTs that are not the page's own (cross-site, a form's text/plain, no or a foreign Origin, too
 * large) are refused before anything reaches the box; a repeated request id is answered, not run again.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { AgentProcess, THEA_BIN } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { makeFleetPki, type FleetPki } from "../../helpers/fleetPki.ts";
import { freePort } from "../../helpers/ports.ts";
import { LineLog, terminate, waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();
const MINH = "/CN=technician.minh";
const LAN = "/CN=operator.dr-lan";
const DEVICE = `act-${process.pid}`;

let pki: FleetPki;
beforeAll(async () => {
  pki = await makeFleetPki([MINH, LAN], (step) => fixture.cleanup(step));
}, 60_000);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

interface Fleet {
  port: number;
  ask(subject: string, method: string, route: string, options?: { headers?: Record<string, string>; body?: string }): Promise<Reply>;
  /** A POST as the service's own page sends it. */
  post(subject: string, route: string, body: unknown): Promise<Reply>;
}

async function startFleet(): Promise<Fleet> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-fleet-actions-"));
  fixture.cleanup(() => rm(dir, { recursive: true, force: true }));
  const files = { cert: path.join(dir, "web.crt"), key: path.join(dir, "web.key"), ca: path.join(dir, "ca.crt"), roster: path.join(dir, "roster.yaml") };
  await writeFile(files.cert, pki.server.cert);
  await writeFile(files.key, pki.server.key);
  await writeFile(files.ca, pki.ca);
  await writeFile(files.roster, `sites:\n  lao-cai:\n    bat-xat:\n      y-ty: [${DEVICE}]\npeople:\n  technician.minh: { sites: [lao-cai] }\n  operator.dr-lan: { sites: [lao-cai] }\n`);
  const port = await freePort();
  const child = spawn(
    THEA_BIN,
    ["fleet", "serve", "--broker", fixture.broker.url, "--data-dir", path.join(dir, "state"), "--listen", `127.0.0.1:${port}`,
      "--web-cert", files.cert, "--web-key", files.key, "--web-ca", files.ca, "--roster", files.roster],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  fixture.cleanup(() => terminate(child, "the fleet service"));
  const log = new LineLog();
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
  await log.waitForLine("the fleet service to serve", (line) => line.includes("fleet service serving"), 30_000);
  const ask: Fleet["ask"] = (subject, method, route, options = {}) => {
    const pair = pki.clients[subject];
    if (!pair) throw new Error(`no certificate for ${subject}`);
    return new Promise((resolve, reject) => {
      const request = httpsRequest({ host: "127.0.0.1", port, path: route, method, headers: options.headers, ca: pki.ca, ...pair, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      });
      request.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" || error.code === "EPIPE" ? undefined : reject(error)));
      request.end(options.body);
    });
  };
  const own = { "content-type": "application/json", origin: `https://127.0.0.1:${port}`, "sec-fetch-site": "same-origin" };
  return { port, ask, post: (subject, route, body) => ask(subject, "POST", route, { headers: own, body: JSON.stringify(body) }) };
}

/** Waits until the fleet service knows the box: on its event stream, as the page learns it. */
async function boxKnown(fleet: Fleet): Promise<void> {
  const pair = pki.clients[MINH];
  if (!pair) throw new Error("no certificate");
  let close: () => void = () => undefined;
  const seen = waitFor<void>(`the fleet service to know ${DEVICE}`, 30_000, (done, fail) => {
    const request = httpsRequest({ host: "127.0.0.1", port: fleet.port, path: "/api/stream", ca: pki.ca, ...pair, agent: false }, (response) => {
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => chunk.includes(`"deviceId":"${DEVICE}"`) && done(undefined));
    });
    request.on("error", (error: NodeJS.ErrnoException) => error.code !== "ECONNRESET" && fail(error));
    request.end();
    close = () => request.destroy();
    return close;
  });
  // Known already before the stream opened: the API says so at once.
  if ((await fleet.ask(MINH, "GET", `/api/boxes/${DEVICE}`)).status === 200) {
    close();
    seen.catch(() => undefined);
    return;
  }
  await seen;
}

const json = (reply: Reply): Record<string, unknown> => JSON.parse(reply.body.toString("utf8")) as Record<string, unknown>;
let ids = 0;
const newId = () => `integration-${process.pid}-${(ids += 1)}`;

describe("the box page's actions against a real agent", () => {
  it("lets a technician rescan, read the log, download diagnostics and change the config, and refuses an operator each", { timeout: 120_000 }, async () => {
    const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, deviceId: DEVICE, extraYaml: 'site: { province: "lao-cai" }' });
    fixture.cleanup(() => agent.stop());
    const fleet = await startFleet();
    await boxKnown(fleet);
    const actions = `/api/boxes/${DEVICE}/actions`;

    const rescan = await fleet.post(MINH, `${actions}/peripherals.rescan`, { requestId: newId() });
    expect(rescan.status).toBe(200);
    expect(json(rescan)).toMatchObject({ ok: true, result: { rescanned: [], peripherals: [] } });

    const logs = await fleet.post(MINH, `${actions}/logs.tail`, { requestId: newId(), params: { lines: 20, level: "info" } });
    expect(logs.status).toBe(200);
    const lines = (json(logs).result as { lines: Array<{ msg: string; level: string }> }).lines;
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(20);

    const diagnostics = await fleet.post(MINH, `${actions}/diagnostics.collect`, { requestId: newId() });
    expect(diagnostics.status).toBe(200);
    expect(diagnostics.headers["content-disposition"]).toMatch(new RegExp(`^attachment; filename="diagnostics-${DEVICE}-\\d{8}T\\d{6}Z\\.json\\.gz"$`));
    expect(createHash("sha256").update(diagnostics.body).digest("hex")).toBe(diagnostics.headers["x-thea-sha256"]);
    expect(JSON.parse(gunzipSync(diagnostics.body).toString("utf8"))).toMatchObject({ deviceId: DEVICE, recentLogs: expect.any(Array) });

    const reported = await fixture.watcher.armed(`thea/v1/${DEVICE}/config/reported`, (message) => (message.json() as { version?: number }).version === 1, 60_000);
    const change = await fleet.post(MINH, `/api/boxes/${DEVICE}/config`, { requestId: newId(), desired: { version: 1, patch: { telemetry: { healthIntervalSec: 45 } } } });
    expect({ status: change.status, body: json(change) }).toEqual({ status: 200, body: { published: { version: 1 } } });
    await reported.message;
    const config = json(await fleet.ask(MINH, "GET", `/api/boxes/${DEVICE}/config`));
    expect(config).toMatchObject({ desired: { value: { version: 1 } }, reported: { version: 1, state: "applied", lastError: null, config: { telemetry: { healthIntervalSec: 45 } } } });
    // The box runs version 1 now: the same version again is refused by the service, before the box.
    expect((await fleet.post(MINH, `/api/boxes/${DEVICE}/config`, { requestId: newId(), desired: { version: 1, patch: {} } })).status).toBe(422);

    // The operator sees the box and its page, and may do none of it.
    expect((await fleet.ask(LAN, "GET", `/box.html?id=${DEVICE}`)).status).toBe(200);
    expect((await fleet.ask(LAN, "GET", `/api/boxes/${DEVICE}`)).status).toBe(200);
    for (const name of ["peripherals.rescan", "logs.tail", "diagnostics.collect", "agent.restart", "system.reboot"]) {
      const refused = await fleet.post(LAN, `${actions}/${name}`, { requestId: newId() });
      expect({ name, status: refused.status }).toEqual({ name, status: 403 });
    }
    expect((await fleet.ask(LAN, "GET", `/api/boxes/${DEVICE}/config`)).status).toBe(403);
    expect((await fleet.post(LAN, `/api/boxes/${DEVICE}/config`, { requestId: newId(), desired: { version: 2, patch: {} } })).status).toBe(403);
    expect((await fleet.post(LAN, `${actions}/ping`, { requestId: newId() })).status).toBe(200);
  });

  it("refuses POSTs that are not the page's own, and answers a repeated request id without running it again", { timeout: 120_000 }, async () => {
    const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, deviceId: DEVICE, extraYaml: 'site: { province: "lao-cai" }' });
    fixture.cleanup(() => agent.stop());
    const fleet = await startFleet();
    await boxKnown(fleet);
    const reboot = `/api/boxes/${DEVICE}/actions/system.reboot`;
    const origin = `https://127.0.0.1:${fleet.port}`;
    const body = JSON.stringify({ requestId: newId() });
    const hostile: Array<[string, Record<string, string>, string, number]> = [
      ["cross-site", { "content-type": "application/json", origin: "https://evil.example", "sec-fetch-site": "cross-site" }, body, 403],
      ["a form post", { "content-type": "text/plain", origin }, body, 415],
      ["no Origin", { "content-type": "application/json" }, body, 403],
      ["a foreign Origin", { "content-type": "application/json", origin: "https://evil.example" }, body, 403],
      ["too large", { "content-type": "application/json", origin }, JSON.stringify({ requestId: newId(), pad: "x".repeat(64 * 1024) }), 413],
    ];
    const asked = fixture.watcher.armed(`thea/v1/${DEVICE}/cmd/#`, () => true, 5_000);
    for (const [what, headers, payload, status] of hostile) {
      const reply = await fleet.ask(MINH, "POST", reboot, { headers, body: payload });
      expect({ what, status: reply.status }).toEqual({ what, status });
    }
    // None of them reached the box.
    await expect((await asked).message).rejects.toThrow();

    // The reboot's first step makes a new token each time it runs: the same token twice means it ran once.
    const requestId = newId();
    const first = json(await fleet.post(MINH, reboot, { requestId }));
    const again = json(await fleet.post(MINH, reboot, { requestId }));
    const fresh = json(await fleet.post(MINH, reboot, { requestId: newId() }));
    const token = (answer: Record<string, unknown>) => (answer.result as { confirmToken?: string } | undefined)?.confirmToken;
    expect(token(first)).toMatch(/^[0-9a-f]{24}$/);
    expect(token(again)).toBe(token(first));
    expect(token(fresh)).not.toBe(token(first));
  });
});
