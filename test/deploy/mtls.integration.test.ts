/**
 * The deploy kit (docs/deploy) as a site would install it: certificates made by `thea-pki`, the
 * kit's own mosquitto.conf and ACL (only its paths and port changed to this test's), a real
 * agent connecting with its certificate. What it must prove is that one box's certificate,
 * stolen, opens nothing but that box's own topics, and that nobody without a current
 * certificate from the network's CA gets in at all.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProcess, PROJECT_ROOT } from "../helpers/agentProcess.ts";
import { Mosquitto } from "../helpers/mosquitto.ts";
import { TestClient, type ReceivedMessage } from "../helpers/mqttClient.ts";
import { waitFor } from "../helpers/wait.ts";

const run = promisify(execFile);
const KIT = path.join(PROJECT_ROOT, "docs", "deploy");
const PKI = path.join(KIT, "thea-pki");

let work: string;
let pki: string;
let broker: Mosquitto;
let agent: AgentProcess;
let technician: TestClient;
const open: TestClient[] = [];

const issued = (cn: string) => ({ cert: path.join(pki, "issued", `${cn}.crt`), key: path.join(pki, "issued", `${cn}.key`) });
const stolen = () => ({ cert: path.join(work, "stolen.crt"), key: path.join(work, "stolen.key") });
const tlsUrl = () => `mqtts://127.0.0.1:${broker.port}`;

async function pkiRun(...args: string[]): Promise<string> {
  const { stdout } = await run(PKI, args);
  return stdout;
}

/** A client holding `cn`'s certificate (from `authority`, the site's CA unless told). */
async function clientAs(cn: string, authority = pki): Promise<TestClient> {
  const files = { cert: path.join(authority, "issued", `${cn}.crt`), key: path.join(authority, "issued", `${cn}.key`) };
  const client = await TestClient.connect(tlsUrl(), {
    ca: await readFile(path.join(pki, "ca.crt")),
    cert: await readFile(files.cert),
    key: await readFile(files.key),
    reconnectPeriod: 0,
  });
  open.push(client);
  return client;
}

/**
 * Tries to connect and resolves with the error that refused it. Resolving at all is the proof:
 * a client the broker accepted would get a CONNACK and fail the test.
 */
async function refusal(options: mqtt.IClientOptions): Promise<string> {
  const client = mqtt.connect(tlsUrl(), { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, ca: await readFile(path.join(pki, "ca.crt")), ...options });
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
async function issueExpired(cn: string): Promise<void> {
  const { cert, key } = issued(cn);
  await run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
  const csr = path.join(work, `${cn}.csr`);
  await run("openssl", ["req", "-new", "-key", key, "-subj", `/CN=${cn}`, "-out", csr]);
  await run(
    "openssl",
    ["ca", "-batch", "-notext", "-config", path.join(pki, "db", "openssl.cnf"), "-extensions", "client_cert",
      "-startdate", "20200101000000Z", "-enddate", "20210101000000Z", "-subj", `/CN=${cn}`, "-in", csr, "-out", cert],
    { env: { ...process.env, THEA_PKI_DIR: pki, THEA_PKI_SAN: "DNS:unused" } },
  );
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "thea-deploy-"));
  pki = path.join(work, "pki");
  await pkiRun("init", pki, "--name", "Test Network CA");
  await pkiRun("broker", pki, "localhost", "127.0.0.1");
  for (const box of ["box-a", "box-b", "box-stolen"]) await pkiRun("device", pki, box);
  const acl = path.join(work, "acl");
  await copyFile(path.join(KIT, "acl"), acl);
  await pkiRun("person", pki, "technician", "tina", "--acl", acl);
  await pkiRun("person", pki, "operator", "omar", "--acl", acl);
  await issueExpired("box-expired");
  // The thief keeps copies of the box's key and certificate; the site then revokes it.
  await copyFile(issued("box-stolen").cert, stolen().cert);
  await copyFile(issued("box-stolen").key, stolen().key);
  await pkiRun("revoke", pki, "box-stolen");
  // Another network's CA issuing a certificate with a CN of this network.
  const foreign = path.join(work, "foreign");
  await pkiRun("init", foreign);
  await pkiRun("device", foreign, "box-a");

  const etc = path.join(work, "etc");
  await run("mkdir", [etc, path.join(work, "var")]);
  await copyFile(path.join(pki, "ca.crt"), path.join(etc, "ca.crt"));
  await copyFile(path.join(pki, "crl.pem"), path.join(etc, "crl.pem"));
  await copyFile(issued("localhost").cert, path.join(etc, "broker.crt"));
  await copyFile(issued("localhost").key, path.join(etc, "broker.key"));
  await copyFile(acl, path.join(etc, "acl"));
  const kitConfig = await readFile(path.join(KIT, "mosquitto.conf"), "utf8");
  broker = await Mosquitto.startWith((port) =>
    kitConfig
      .replaceAll("/etc/mosquitto/thea/", `${etc}/`)
      .replaceAll("/var/lib/mosquitto/", `${work}/var/`)
      .replace(/^listener 8883$/m, `listener ${port} 127.0.0.1`),
  );

  technician = await clientAs("technician.tina");
  const status = technician.next("thea/v1/box-a/status", (message) => (message.json() as { online?: boolean }).online === true, 30_000);
  agent = await AgentProcess.start({
    brokerUrl: tlsUrl(),
    deviceId: "box-a",
    mqttYaml: `tls: { ca: '${path.join(pki, "ca.crt")}', cert: '${issued("box-a").cert}', key: '${issued("box-a").key}' }`,
  });
  await status;
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((client) => client.close()));
  await agent?.stop();
  await broker?.stop();
});

describe("the deploy kit on mosquitto", () => {
  it("lets a box in with its certificate, and a technician command it", async () => {
    const { body } = await technician.request("thea/v1/box-a/cmd/ping", "{}");
    expect(body).toMatchObject({ ok: true });
  });

  it("delivers nothing a box publishes under another box's topics", async () => {
    const thief = await clientAs("box-b");
    const seen: ReceivedMessage[] = [];
    technician.client.on("message", (topic, payload, packet) => seen.push({ topic, payload, packet, json: () => JSON.parse(payload.toString()) }));
    const marker = technician.armed("thea/v1/box-b/marker", () => true);
    await technician.client.subscribeAsync("thea/v1/box-a/#", { qos: 1 });
    await marker;
    // A command and a config change for box-a, each refused by the broker (MQTT 5 PUBACK 0x87)…
    await expect(thief.publish("thea/v1/box-a/cmd/agent.restart", '{"force":true}')).rejects.toThrow(/not authori[sz]ed/i);
    await expect(thief.publish("thea/v1/box-a/config/desired", '{"version":9,"config":{}}', { qos: 1, retain: true })).rejects.toThrow(/not authori[sz]ed/i);
    // …then one on its own subtree. The broker handles one client's publishes in order, so once
    // this one is here, the refused ones would have been here before it.
    const own = (await marker).message;
    await thief.publish("thea/v1/box-b/marker", "own");
    await own;
    expect(seen.filter((message) => message.topic.startsWith("thea/v1/box-a/cmd/agent.restart") || message.topic === "thea/v1/box-a/config/desired")).toEqual([]);
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
    const { body } = await operator.request("thea/v1/box-a/cmd/ping", "{}");
    expect(body).toMatchObject({ ok: true });
    for (const topic of ["thea/v1/box-a/cmd/system.reboot", "thea/v1/box-a/cmd/agent.restart", "thea/v1/box-a/config/desired", "thea/v1/box-a/update/desired"]) {
      await expect(operator.publish(topic, "{}"), topic).rejects.toThrow(/not authori[sz]ed/i);
    }
  });

  it("refuses a client without a certificate", async () => {
    expect(await refusal({})).toMatch(/alert|handshake|closed|certificate|reset/i);
  });

  const read = async (files: { cert: string; key: string }) => ({ cert: await readFile(files.cert), key: await readFile(files.key) });

  it("refuses an expired certificate", async () => {
    await refusal(await read(issued("box-expired")));
  });

  it("refuses a revoked certificate (a stolen box) once the CRL is on the broker", async () => {
    await refusal(await read(stolen()));
  });

  it("refuses a certificate from another CA, even with a CN of this network", async () => {
    await refusal(await read({ cert: path.join(work, "foreign", "issued", "box-a.crt"), key: path.join(work, "foreign", "issued", "box-a.key") }));
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
    const passwordFile = path.join(work, "pw");
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
