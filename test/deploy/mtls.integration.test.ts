/**
 * The deploy kit (docs/deploy) as a site would install it: certificates made by `thea-pki`, the
 * kit's own mosquitto.conf and ACL (only its paths and port changed to this test's), a real
 * agent connecting with its certificate. What it must prove is that one box's certificate,
 * stolen, opens nothing but that box's own topics, and that nobody without a current
 * certificate from the network's CA gets in at all.
 */
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProcess } from "../helpers/agentProcess.ts";
import { TestClient, type ReceivedMessage } from "../helpers/mqttClient.ts";
import { waitFor } from "../helpers/wait.ts";
import { Kit, pkiRun, requestAs, run } from "./kit.ts";

let kit: Kit;
let agent: AgentProcess;
let technician: TestClient;

const ROSTER = `
sites:
  north: { hill: [box-a, box-b] }
people:
  technician.tina: { sites: [north] }
  operator.omar: { sites: [north] }
`;

const work = () => kit.work;
const stolen = () => ({ cert: path.join(work(), "stolen.crt"), key: path.join(work(), "stolen.key") });
const clientAs = (cn: string) => kit.clientAs(cn);

/**
 * Tries to connect and resolves with the error that refused it. Resolving at all is the proof:
 * a client the broker accepted would get a CONNACK and fail the test.
 */
async function refusal(options: mqtt.IClientOptions): Promise<string> {
  const client = mqtt.connect(kit.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, ca: await readFile(path.join(kit.pki, "ca.crt")), ...options });
  try {
    return await waitFor<string>("the broker to refuse the client", 15_000, (done, fail) => {
      client.once("connect", () => fail(new Error("the broker accepted the client")));
      client.once("error", (error) => done(error.message));
      client.once("close", () => done("connection closed before CONNACK"));
      return () => undefined;
    });
  } finally {
    client.end(true);
  }
}

/** A certificate signed by the site's CA whose validity ended in 2021. */
async function issueExpired(pki: string, workDir: string, cn: string): Promise<void> {
  const cert = path.join(pki, "issued", `${cn}.crt`);
  const key = path.join(pki, "issued", `${cn}.key`);
  await run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
  const csr = path.join(workDir, `${cn}.csr`);
  await run("openssl", ["req", "-new", "-key", key, "-subj", `/CN=${cn}`, "-out", csr]);
  await run(
    "openssl",
    ["ca", "-batch", "-notext", "-config", path.join(pki, "db", "openssl.cnf"), "-extensions", "client_cert",
      "-startdate", "20200101000000Z", "-enddate", "20210101000000Z", "-subj", `/CN=${cn}`, "-in", csr, "-out", cert],
    { env: { ...process.env, THEA_PKI_DIR: pki, THEA_PKI_SAN: "DNS:unused" } },
  );
}

beforeAll(async () => {
  kit = await Kit.start({
    devices: ["box-a", "box-b", "box-stolen"],
    people: [["technician", "tina"], ["operator", "omar"]],
    roster: ROSTER,
    prepare: async ({ work: workDir, pki }) => {
      await issueExpired(pki, workDir, "box-expired");
      // The thief keeps copies of the box's key and certificate; the site then revokes it.
      await copyFile(path.join(pki, "issued", "box-stolen.crt"), path.join(workDir, "stolen.crt"));
      await copyFile(path.join(pki, "issued", "box-stolen.key"), path.join(workDir, "stolen.key"));
      await pkiRun("revoke", pki, "box-stolen");
      // Another network's CA issuing a certificate with a CN of this network.
      const foreign = path.join(workDir, "foreign");
      await pkiRun("init", foreign);
      await pkiRun("device", foreign, "box-a");
    },
  });

  technician = await clientAs("technician.tina");
  const status = technician.next("thea/v1/box-a/status", (message) => (message.json() as { online?: boolean }).online === true, 30_000);
  agent = await AgentProcess.start({
    brokerUrl: kit.url,
    deviceId: "box-a",
    mqttYaml: `tls: { ca: '${path.join(kit.pki, "ca.crt")}', cert: '${kit.issued("box-a").cert}', key: '${kit.issued("box-a").key}' }`,
  });
  await status;
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await kit?.stop();
});

describe("the deploy kit on mosquitto", () => {
  it("lets a box in with its certificate, and a technician command it", async () => {
    expect(await requestAs(technician, "technician.tina", "box-a", "ping")).toMatchObject({ ok: true });
  });

  it("delivers nothing a box publishes under another box's topics", async () => {
    const thief = await clientAs("box-b");
    const seen: ReceivedMessage[] = [];
    technician.client.on("message", (topic, payload, packet) => seen.push({ topic, payload, packet, json: () => JSON.parse(payload.toString()) }));
    const marker = technician.armed("thea/v1/box-b/event", () => true);
    await technician.client.subscribeAsync("thea/v1/box-a/#", { qos: 1 });
    await marker;
    // A command, a config change and a fake status for box-a, each refused by the broker (MQTT 5
    // PUBACK 0x87)…
    await expect(thief.publish("thea/v1/box-a/cmd/agent.restart", '{"force":true}')).rejects.toThrow(/not authori[sz]ed/i);
    await expect(thief.publish("thea/v1/box-a/config/desired", '{"version":9,"config":{}}', { qos: 1, retain: true })).rejects.toThrow(/not authori[sz]ed/i);
    await expect(thief.publish("thea/v1/box-a/status", '{"online":false,"reason":"thief"}', { qos: 1, retain: true })).rejects.toThrow(/not authori[sz]ed/i);
    // …then one on its own subtree. The broker handles one client's publishes in order, so once
    // this one is here, the refused ones would have been here before it.
    const own = (await marker).message;
    await thief.publish("thea/v1/box-b/event", '{"marker":true}');
    await own;
    expect(seen.filter((message) => message.topic.startsWith("thea/v1/box-a/") && /thief|"version":9/.test(message.payload.toString()))).toEqual([]);
    expect(agent.running).toBe(true);
  });

  it("gives a box's subscriptions nothing of another box, not even its retained status", async () => {
    const thief = await clientAs("box-b");
    const received: string[] = [];
    thief.client.on("message", (topic) => received.push(topic));
    // Subscriptions are granted (mosquitto filters on delivery), retained messages included.
    await thief.client.subscribeAsync(["thea/v1/#", "thea/v1/box-a/#", "#"], { qos: 1 });
    // A message the technician sends to each box: box-b's arrives, box-a's must not.
    const ownCommand = thief.next("thea/v1/box-b/cmd/ping");
    await technician.publish("thea/v1/box-a/cmd/ping", "{}");
    await technician.publish("thea/v1/box-b/cmd/ping", "{}");
    await ownCommand;
    expect(received.filter((topic) => !topic.startsWith("thea/v1/box-b/"))).toEqual([]);
  });

  it("lets an operator view but not reconfigure, update or reboot a box", async () => {
    const operator = await clientAs("operator.omar");
    expect(await requestAs(operator, "operator.omar", "box-a", "ping")).toMatchObject({ ok: true });
    for (const topic of ["thea/v1/box-a/cmd/system.reboot", "thea/v1/box-a/cmd/agent.restart", "thea/v1/box-a/config/desired", "thea/v1/box-a/update/desired"]) {
      await expect(operator.publish(topic, "{}"), topic).rejects.toThrow(/not authori[sz]ed/i);
    }
  });

  it("refuses a client without a certificate", async () => {
    expect(await refusal({})).toMatch(/alert|handshake|closed|certificate|reset/i);
  });

  const read = async (files: { cert: string; key: string }) => ({ cert: await readFile(files.cert), key: await readFile(files.key) });

  it("refuses an expired certificate", async () => {
    await refusal(await read(kit.issued("box-expired")));
  });

  it("refuses a revoked certificate (a stolen box) once the CRL is on the broker", async () => {
    await refusal(await read(stolen()));
  });

  it("refuses a certificate from another CA, even with a CN of this network", async () => {
    await refusal(await read({ cert: path.join(work(), "foreign", "issued", "box-a.crt"), key: path.join(work(), "foreign", "issued", "box-a.key") }));
  });
});

describe("the agent and credentials over plain TCP", () => {
  it("does not connect at all when given a password for plain mqtt://", async () => {
    const connections: string[] = [];
    const listener = createServer((socket) => {
      connections.push(String(socket.remoteAddress));
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const address = listener.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const passwordFile = path.join(work(), "pw");
    await writeFile(passwordFile, "correct-horse\n");
    const refused = await AgentProcess.start({ brokerUrl: `mqtt://127.0.0.1:${port}`, mqttYaml: `username: box\npasswordFile: '${passwordFile}'` });
    const exit = await refused.waitForExit(15_000);
    listener.close();
    expect(exit.code).not.toBe(0);
    expect(refused.stderr.text + refused.stdout.text).toMatch(/refusing to send a password over plain mqtt:\/\//);
    expect(refused.stderr.text + refused.stdout.text).not.toContain("correct-horse");
    expect(connections).toEqual([]);
  });
});
