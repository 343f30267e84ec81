/**
 * The console relay of the fleet service, end to end: a real mosquitto, a real agent, the fleet
 * server over HTTPS with client certificates and a roster, and mqtt.js connecting through
 * wss://…/console/mqtt as people do from the box page. The relay connects to the broker as the
 * service (here a broker without an ACL, so that only the relay stands between a person and every
 * box): an operator reaches their box's commands and answers, and nothing else; a refused packet
 * ends their connection and never reaches the broker.
 */
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqttPacket from "mqtt-packet";
import { WebSocket } from "ws";
import { createLogger } from "../../../lib/log.ts";
import type { FleetServer } from "../../../tools/fleet/server.ts";
import { parseRoster } from "../../../tools/roster/roster.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { TestClient } from "../../helpers/mqttClient.ts";
import { useTlsFleetServer } from "../../helpers/tlsFleetServer.ts";
import { waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();
const { cleanup } = fixture;

const SERVICE = "fleet.test-hospital";
const LAN = "/CN=operator.dr-lan";
const MINH = "/CN=technician.minh";
const BOX = "dak-01";
const OTHER_BOX = "gia-01";

const ROSTER = `
sites:
  dak-lak:
    krong-pac:
      ea-kly: [${BOX}]
  gia-lai:
    chu-se:
      ia-blang: [${OTHER_BOX}]
people:
  operator.dr-lan: { sites: [dak-lak] }
  technician.minh: { sites: [dak-lak, gia-lai] }
`;

const tlsFleet = useTlsFleetServer({ subjects: [LAN, MINH], roster: ROSTER, cleanup });
const { client: certificate, get: getPage } = tlsFleet;

let agent: AgentProcess;
const fileCleanups: Array<() => Promise<void>> = [];
beforeAll(async () => {
  const online = fixture.watcher.next(`thea/v1/${BOX}/status`, (message) => (message.json() as { online?: boolean }).online === true, 60_000);
  agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, deviceId: BOX });
  fileCleanups.push(() => agent.stop());
  await online;
}, 90_000);
afterAll(async () => {
  for (const step of fileCleanups.reverse()) await step();
});

const logLines: string[] = [];
async function serve(): Promise<FleetServer> {
  const log = createLogger({ level: "info", destination: { write: (line: string) => void logLines.push(line) } });
  return tlsFleet.serve({
    view: new FakeFleetView([boxRow(BOX), boxRow(OTHER_BOX)]),
    console: { broker: { host: "127.0.0.1", port: fixture.broker.port }, serviceCn: SERVICE },
    log,
  });
}

async function person(server: FleetServer, subject: string): Promise<TestClient> {
  const client = await TestClient.connect(`wss://127.0.0.1:${server.port}/console/mqtt`, { ca: tlsFleet.ca, ...certificate(subject), reconnectPeriod: 0, connectTimeout: 10_000 });
  cleanup(() => client.close());
  return client;
}

const replyOf = (subject: string, box = BOX) => `thea/v1/${box}/reply/${SERVICE}/${subject.slice(4)}`;

function closed(client: MqttClient): Promise<void> {
  return waitFor("the relay to close the connection", 10_000, (done) => {
    const onClose = () => done(undefined);
    client.on("close", onClose);
    return () => client.off("close", onClose);
  });
}

describe("the fleet's console relay", () => {
  it("lets an operator ping their box and list its peripherals, answered in their reply space", async () => {
    const server = await serve();
    const lan = await person(server, LAN);
    const ping = await lan.request(`thea/v1/${BOX}/cmd/ping`, "{}", { responseTopic: `${replyOf(LAN)}/1` });
    expect(ping.body).toMatchObject({ ok: true });
    const list = await lan.request(`thea/v1/${BOX}/cmd/peripherals.list`, "{}", { responseTopic: `${replyOf(LAN)}/2` });
    expect(list.body).toMatchObject({ ok: true, result: { peripherals: expect.any(Array) } });
    // Status, as the console page subscribes to it: a read grant of the operator's.
    expect((await lan.next(`thea/v1/${BOX}/status`)).json()).toMatchObject({ online: true });
  });

  it("closes an operator's connection that subscribes to a box of another site, and logs it with their CN", async () => {
    const server = await serve();
    const lan = await person(server, LAN);
    const gone = closed(lan.client);
    lan.client.subscribe(`thea/v1/${OTHER_BOX}/status`, { qos: 1 });
    await gone;
    expect(logLines.some((line) => line.includes('"cn":"operator.dr-lan"') && line.includes(`subscribe to thea/v1/${OTHER_BOX}/status`))).toBe(true);
  });

  it("never lets an operator's desired state or retained message reach the broker", async () => {
    const server = await serve();
    const seen: string[] = [];
    const spy = await TestClient.connect(fixture.broker.url);
    cleanup(() => spy.close());
    const desired = `thea/v1/${BOX}/update/desired`;
    const viewerGone = `thea/v1/${BOX}/webrtc/viewers/v1/gone`;
    const refused = [desired, viewerGone];
    // Only the two topics the operator tries: the box's own retained messages (status, summary, …)
    // come to a new subscription too, and would be taken for ones that passed.
    spy.client.on("message", (topic) => {
      if (refused.includes(topic)) seen.push(topic);
    });
    await spy.client.subscribeAsync(refused, { qos: 1 });
    for (const [topic, retain] of [[desired, false], [viewerGone, true]] as const) {
      const lan = await person(server, LAN);
      const gone = closed(lan.client);
      lan.client.publish(topic, '{"version":"9.9.9"}', { qos: 1, retain });
      await gone;
    }
    // A message that had passed would have reached the spy before this one, on the same broker.
    const marker = await spy.armed(`thea/v1/${BOX}/marker`, () => true);
    await fixture.watcher.publish(`thea/v1/${BOX}/marker`, "{}");
    await marker.message;
    expect(seen).toEqual([]);
  });

  it("never lets an operator read another person's answers", async () => {
    const server = await serve();
    const minh = await person(server, MINH);
    const lan = await person(server, LAN);
    const got: string[] = [];
    lan.client.on("message", (topic) => got.push(topic));
    const gone = closed(lan.client);
    lan.client.subscribe(`${replyOf(MINH)}/#`, { qos: 1 });
    await gone;
    // The technician's own answers still come, to them only.
    const ping = await minh.request(`thea/v1/${BOX}/cmd/ping`, "{}", { responseTopic: `${replyOf(MINH)}/1` });
    expect(ping.body).toMatchObject({ ok: true });
    expect(got).toEqual([]);
  });

  it("lets a technician command a box of either site, but refuses an operator's technician command", async () => {
    const server = await serve();
    const minh = await person(server, MINH);
    const health = await minh.request(`thea/v1/${BOX}/cmd/health.now`, "{}", { responseTopic: `${replyOf(MINH)}/h` });
    expect(health.body).toMatchObject({ ok: true });
    const lan = await person(server, LAN);
    const gone = closed(lan.client);
    lan.client.publish(`thea/v1/${BOX}/cmd/agent.restart`, "{}", { qos: 1, properties: { responseTopic: `${replyOf(LAN)}/r` } });
    await gone;
  });
});

/** The status of a WebSocket handshake at /console/mqtt (101 when upgraded). */
function handshake(server: FleetServer, subject: string, headers: Record<string, string> = {}): Promise<{ status: number; socket?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`wss://127.0.0.1:${server.port}/console/mqtt`, ["mqtt"], { ca: tlsFleet.ca, ...certificate(subject), headers });
    socket.once("open", () => {
      cleanup(() => socket.terminate());
      resolve({ status: 101, socket });
    });
    socket.once("unexpected-response", (_request, response) => resolve({ status: response.statusCode ?? 0 }));
    socket.once("error", reject);
  });
}

describe("the fleet's console relay: who may open it, and how many", () => {
  it("refuses a page of another origin, and takes the server's own", async () => {
    const server = await serve();
    expect((await handshake(server, LAN, { origin: "https://evil.example" })).status).toBe(403);
    expect((await handshake(server, LAN, { origin: `https://127.0.0.1:${server.port}` })).status).toBe(101);
    expect((await handshake(server, LAN, { origin: `http://127.0.0.1:${server.port}` })).status).toBe(403);
  });

  it("holds three consoles of one person; a fourth waits for one to close", async () => {
    const server = await serve();
    const open = [await handshake(server, LAN), await handshake(server, LAN), await handshake(server, LAN)];
    expect(open.map((one) => one.status)).toEqual([101, 101, 101]);
    expect((await handshake(server, LAN)).status).toBe(503);
    expect((await handshake(server, MINH)).status).toBe(101); // another person is not held up
    const first = open[0]?.socket;
    const closedNow = new Promise((resolve) => first?.once("close", resolve));
    first?.close();
    await closedNow;
    await waitFor("a place freed", 5_000, (done) => {
      const timer = setInterval(() => void handshake(server, LAN).then((one) => one.status === 101 && done(undefined)), 100);
      return () => clearInterval(timer);
    });
  });

  it("ends the console of a person whose boxes a roster reload changed, and keeps the others'", async () => {
    const server = await serve();
    const lan = await person(server, LAN);
    const minh = await person(server, MINH);
    const gone = closed(lan.client);
    server.setRoster(parseRoster(ROSTER.replace("operator.dr-lan: { sites: [dak-lak] }", "operator.dr-lan: { sites: [gia-lai] }")));
    await gone;
    const ping = await minh.request(`thea/v1/${BOX}/cmd/ping`, "{}", { responseTopic: `${replyOf(MINH)}/after-reload` });
    expect(ping.body).toMatchObject({ ok: true });
  });
});

describe("the fleet's console page and refusals, as a person sees them", () => {
  it("serves the page for a box of theirs, naming their reply space; another site's box is absent", async () => {
    const server = await serve();
    const page = await getPage(server, LAN, `/console/?device=${BOX}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`<meta name="thea-requester" content="${SERVICE}/operator.dr-lan">`);
    const other = await getPage(server, LAN, `/console/?device=${OTHER_BOX}`);
    const none = await getPage(server, LAN, "/console/?device=nowhere-01");
    expect([other.status, none.status]).toEqual([404, 404]);
    expect(other.body).toBe(none.body.replace("nowhere-01", OTHER_BOX));
  });

  it("closes a refused connection with 1008 and says why", async () => {
    const server = await serve();
    const { socket } = await handshake(server, LAN);
    if (!socket) throw new Error("no WebSocket");
    const closing = new Promise<{ code: number; reason: string }>((resolve) => socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.send(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, keepalive: 30, clientId: "x" }, { protocolVersion: 5 }));
    socket.send(mqttPacket.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: `thea/v1/${OTHER_BOX}/status`, qos: 1 }] }, { protocolVersion: 5 }));
    expect(await closing).toEqual({ code: 1008, reason: `refused: subscribe to thea/v1/${OTHER_BOX}/status` });
  });
});
