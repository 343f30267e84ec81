/**
 * Who reaches what on the kit's broker (docs/deploy): client ids bound to certificates, so no
 * certificate can knock a box off by claiming its client id; people confined to the boxes of their
 * sites and to their own replies; a backend to readings and health. Real mosquitto, real
 * certificates, the ACL made by thea-roster from a roster; boxes are played by plain clients
 * holding the boxes' certificates.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestClient } from "../helpers/mqttClient.ts";
import { waitFor } from "../helpers/wait.ts";
import { Kit } from "./kit.ts";

const ROSTER = `
sites:
  north: { hill: { a: [box-n1] } }
  south: { coast: { b: [box-s1] } }
people:
  operator.north: { sites: [north] }
  operator.south: { sites: [south] }
  technician.north: { sites: [north] }
  backend.ingest: { sites: ["*"] }
`;

let kit: Kit;

beforeAll(async () => {
  kit = await Kit.start({
    devices: ["box-n1", "box-s1"],
    people: [["operator", "north"], ["operator", "south"], ["technician", "north"], ["backend", "ingest"]],
    roster: ROSTER,
  });
}, 120_000);

afterAll(async () => {
  await kit?.stop();
});

/** Every topic a client receives, from now on. */
function recorder(client: TestClient): string[] {
  const topics: string[] = [];
  client.client.on("message", (topic) => topics.push(topic));
  return topics;
}

/** Resolves with the first message on `topic`; fails at once if `client` loses its connection. */
function receivedWhileConnected(client: TestClient, topic: string): Promise<string> {
  return waitFor<string>(`a message on ${topic}`, 15_000, (done, fail) => {
    const onMessage = (received: string, payload: Buffer) => {
      if (received === topic) done(payload.toString());
    };
    const onGone = () => fail(new Error("the box's connection was taken over"));
    if (!client.client.connected) onGone();
    client.client.on("message", onMessage);
    client.client.on("close", onGone);
    client.client.on("disconnect", onGone);
    return () => {
      client.client.off("message", onMessage);
      client.client.off("close", onGone);
      client.client.off("disconnect", onGone);
    };
  });
}

describe("client ids on the kit's broker", () => {
  it("does not let another certificate disconnect a box by claiming its client id", async () => {
    // The box connects as the agent does by default (mqtt.clientId thea-<deviceId>).
    const box = await kit.clientAs("box-n1", { clientId: "thea-box-n1" });
    await box.client.subscribeAsync("thea/v1/box-n1/cmd/+", { qos: 1 });
    const technician = await kit.clientAs("technician.north");
    // Another box and an operator, each claiming the box's client id, as given or as the
    // broker would write it; again and again.
    for (const cn of ["box-s1", "operator.south", "box-s1"]) {
      for (const clientId of ["thea-box-n1", "box-n1"]) {
        const intruder = await kit.clientAs(cn, { clientId });
        await intruder.close();
      }
    }
    const nonce = randomBytes(4).toString("hex");
    const delivered = receivedWhileConnected(box, "thea/v1/box-n1/cmd/ping");
    delivered.catch(() => undefined); // awaited below, after the publish
    await technician.publish("thea/v1/box-n1/cmd/ping", JSON.stringify({ nonce }));
    expect(await delivered).toContain(nonce);
    expect(box.client.connected).toBe(true);
  });
});

describe("a roster's people on the kit's broker", () => {
  it("shows an operator nothing of another province's boxes, retained or live, and lets them command none", async () => {
    const south = await kit.clientAs("box-s1");
    const north = await kit.clientAs("box-n1");
    await south.publish("thea/v1/box-s1/status", '{"online":true}', { qos: 1, retain: true });
    await north.publish("thea/v1/box-n1/status", '{"online":true}', { qos: 1, retain: true });
    const operator = await kit.clientAs("operator.north");
    const seen = recorder(operator);
    // Its own box's retained status arrives; the other province's must not.
    const ownStatus = operator.next("thea/v1/box-n1/status");
    await operator.client.subscribeAsync(["thea/v1/#", "#"], { qos: 1 });
    await ownStatus;
    await south.publish("thea/v1/box-s1/peripherals/spo2/reading", '{"spo2":97}');
    await south.publish("thea/v1/box-s1/health", "{}");
    const ownReading = operator.next("thea/v1/box-n1/peripherals/spo2/reading");
    // The south box's publishes were acknowledged (QoS 1) before this one was sent, so mosquitto
    // had routed them already: once this one arrives, theirs would have arrived before it.
    await north.publish("thea/v1/box-n1/peripherals/spo2/reading", '{"spo2":98}');
    await ownReading;
    expect(seen.filter((topic) => topic.includes("box-s1"))).toEqual([]);
    // Commanding the other province's box is refused by the broker (PUBACK 0x87), its own is not.
    await expect(operator.publish("thea/v1/box-s1/cmd/ping", "{}")).rejects.toThrow(/not authori[sz]ed/i);
    await operator.publish("thea/v1/box-n1/cmd/ping", "{}");
  });

  it("lets only the requester read a reply, and nobody the default answer topic", async () => {
    const box = await kit.clientAs("box-n1");
    const technician = await kit.clientAs("technician.north");
    const other = await kit.clientAs("operator.north");
    const othersSeen = recorder(other);
    const mine = technician.next("thea/v1/box-n1/reply/technician.north/#");
    await other.client.subscribeAsync(["thea/v1/#"], { qos: 1 });
    await technician.client.subscribeAsync(["thea/v1/box-n1/cmd/+/response"], { qos: 1 });
    const techniciansSeen = recorder(technician);
    // What the box answers: one reply to each person, and one on the default answer topic.
    await box.publish("thea/v1/box-n1/cmd/ping/response", '{"ok":true}');
    await box.publish("thea/v1/box-n1/reply/operator.south/1", '{"ok":true}');
    await box.publish("thea/v1/box-n1/reply/technician.north/1", '{"ok":true}');
    await mine;
    expect(techniciansSeen.filter((topic) => !topic.startsWith("thea/v1/box-n1/reply/technician.north/"))).toEqual([]);
    // The operator subscribed to everything before the box answered, and its own ping answer
    // below shows its deliveries are flowing: none of the others' replies reached it.
    const ownReply = other.next("thea/v1/box-n1/reply/operator.north/#");
    await box.publish("thea/v1/box-n1/reply/operator.north/2", '{"ok":true}');
    await ownReply;
    expect(othersSeen.filter((topic) => topic.includes("/reply/") ? !topic.includes("/reply/operator.north/") : topic.includes("/cmd/"))).toEqual([]);
  });

  it("gives a backend readings and health, and nothing of commands, configuration or replies", async () => {
    const box = await kit.clientAs("box-s1");
    const backend = await kit.clientAs("backend.ingest");
    const seen = recorder(backend);
    await backend.client.subscribeAsync(["thea/v1/#"], { qos: 1 });
    for (const topic of ["status", "event", "cmd/ping", "cmd/ping/response", "config/desired", "config/reported", "update/state", "reply/backend.ingest/1", "peripherals/spo2/state"]) {
      await box.publish(`thea/v1/box-s1/${topic}`, "{}");
    }
    const health = backend.next("thea/v1/box-s1/health");
    const reading = backend.next("thea/v1/box-s1/peripherals/spo2/reading");
    await box.publish("thea/v1/box-s1/peripherals/spo2/reading", '{"spo2":97}');
    await box.publish("thea/v1/box-s1/health", "{}");
    await Promise.all([health, reading]);
    expect(seen.filter((topic) => !topic.endsWith("/health") && !topic.endsWith("/reading"))).toEqual([]);
    await expect(backend.publish("thea/v1/box-s1/cmd/ping", "{}")).rejects.toThrow(/not authori[sz]ed/i);
  });

  it("does not let a person publish as if they were a box", async () => {
    const operator = await kit.clientAs("operator.north");
    await expect(operator.publish("thea/v1/operator.north/status", '{"online":true}')).rejects.toThrow(/not authori[sz]ed/i);
  });
});
