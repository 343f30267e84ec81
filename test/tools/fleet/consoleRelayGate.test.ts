import fc from "fast-check";
import mqttPacket, { type IConnectPacket, type IPublishPacket, type ISubscription, type Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { MqttFramer } from "../../../tools/fleet/consoleRelayFramer.ts";
import { ConsoleGate } from "../../../tools/fleet/consoleRelayGate.ts";
import { ConsolePolicy, type PolicyLimits } from "../../../tools/fleet/consoleRelayPolicy.ts";
import { OPERATOR_COMMANDS } from "../../../tools/roster/roles.ts";

const SERVICE = "fleet.hospital-a";
const LIMITS: PolicyLimits = { maxSubscriptions: 8, publishBurst: 5, publishesPerSecond: 2 };
const REPLY = (box: string, person = "operator.lan") => `thea/v1/${box}/reply/${SERVICE}/${person}`;

interface Setup {
  role?: "operator" | "technician";
  person?: string;
  boxes?: readonly string[];
  now?: () => number;
}

function gateFor({ role = "operator", person = "operator.lan", boxes = ["box-a"], now = () => 0 }: Setup = {}): ConsoleGate {
  const policy = new ConsolePolicy({
    grant: { serviceCn: SERVICE, personCn: person, role, sees: (deviceId) => boxes.includes(deviceId) },
    limits: LIMITS,
    clientId: "svc-chosen-1",
    now,
  });
  return new ConsoleGate({ policy, maxPacketBytes: 4096 });
}

const bytesOf = (packet: Packet) => mqttPacket.generate(packet, { protocolVersion: 5 });

const CONNECT: IConnectPacket = {
  cmd: "connect",
  protocolId: "MQTT",
  protocolVersion: 5,
  clean: true,
  keepalive: 30,
  clientId: "console-page-chose-this",
  will: { topic: "thea/v1/box-a/webrtc/viewers/v1/gone", payload: Buffer.alloc(0), qos: 1, retain: false },
};

function publish(topic: string, extra: Partial<IPublishPacket> = {}): IPublishPacket {
  return { cmd: "publish", topic, payload: Buffer.from("{}"), qos: 1, retain: false, dup: false, messageId: 7, ...extra };
}

function command(box: string, name: string, responseTopic = `${REPLY(box)}/v1`): IPublishPacket {
  return publish(`thea/v1/${box}/cmd/${name}`, { properties: { responseTopic, correlationData: Buffer.from("c1") } });
}

function subscribe(...topics: string[]): Packet {
  return { cmd: "subscribe", messageId: 3, subscriptions: topics.map((topic): ISubscription => ({ topic, qos: 1 })) };
}

/** The packets a gate lets out, parsed back as the broker would. */
function parsed(bytes: Buffer): Packet[] {
  const out: Packet[] = [];
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on("packet", (packet: Packet) => out.push(packet));
  parser.parse(bytes);
  return out;
}

/** A connected gate, and what the next packet's verdict is. */
function after(packet: Packet, setup: Setup = {}): { ok: boolean; reason?: string; out: Packet[] } {
  const gate = gateFor(setup);
  expect(gate.push(bytesOf(CONNECT)).ok).toBe(true);
  const gated = gate.push(bytesOf(packet));
  return gated.ok ? { ok: true, out: parsed(gated.bytes) } : { ok: false, reason: gated.reason, out: [] };
}

describe("MqttFramer", () => {
  it("gives the same packets however the bytes are split", () => {
    const stream = Buffer.concat([bytesOf(CONNECT), bytesOf(command("box-a", "ping")), bytesOf({ cmd: "pingreq" })]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new MqttFramer(4096);
      const first = framer.push(stream.subarray(0, cut));
      const second = framer.push(stream.subarray(cut));
      expect(first.ok && second.ok).toBe(true);
      if (first.ok && second.ok) expect(Buffer.concat([...first.packets, ...second.packets])).toEqual(stream);
    }
  });

  it("refuses a packet over the bound from its header, before its body arrives", () => {
    const framer = new MqttFramer(1000);
    // PUBLISH, remaining length 16,384 (0x80 0x80 0x01): only the header is sent.
    expect(framer.push(Buffer.from([0x30, 0x80, 0x80, 0x01]))).toEqual({ ok: false, error: expect.stringContaining("16388 bytes") });
    expect(framer.push(Buffer.from([0xc0, 0x00])).ok).toBe(false); // nothing more after a failure
  });

  it("refuses a remaining length of more than four bytes", () => {
    expect(new MqttFramer(1 << 30).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])).ok).toBe(false);
  });
});

describe("ConsoleGate: CONNECT", () => {
  it("forwards a connect with the service's client id, a clean session, the page's will", () => {
    const gated = gateFor().push(bytesOf(CONNECT));
    expect(gated.ok).toBe(true);
    const [packet] = gated.ok ? parsed(gated.bytes) : [];
    expect(packet).toMatchObject({ cmd: "connect", clientId: "svc-chosen-1", clean: true, protocolVersion: 5, will: { topic: "thea/v1/box-a/webrtc/viewers/v1/gone", retain: false } });
  });

  it.each([
    ["a username", { ...CONNECT, username: "technician.tuan" }],
    ["MQTT 3.1.1", { ...CONNECT, protocolVersion: 4 as const }],
    ["a will on another box", { ...CONNECT, will: { topic: "thea/v1/box-b/webrtc/viewers/v1/gone", payload: "", qos: 1 as const } }],
    ["a will on desired state", { ...CONNECT, will: { topic: "thea/v1/box-a/update/desired", payload: "{}", qos: 1 as const } }],
    ["a retained will", { ...CONNECT, will: { topic: "thea/v1/box-a/webrtc/viewers/v1/gone", payload: "", qos: 1 as const, retain: true } }],
  ])("refuses %s", (_what, connect) => {
    expect(gateFor().push(bytesOf(connect)).ok).toBe(false);
  });

  it.each([[0, 300], [30, 30], [65535, 300]])("asks the broker for a keep-alive of %i s as %i s: a silent connection is always ended", (asked, forwarded) => {
    const gated = gateFor().push(bytesOf({ ...CONNECT, keepalive: asked }));
    expect(gated.ok && parsed(gated.bytes)[0]).toMatchObject({ cmd: "connect", keepalive: forwarded });
  });

  it("refuses anything before connect, and a second connect", () => {
    expect(gateFor().push(bytesOf(subscribe("thea/v1/box-a/status"))).ok).toBe(false);
    expect(after(CONNECT)).toMatchObject({ ok: false, reason: "a second connect" });
  });

  it("lets nothing through after a refusal", () => {
    const gate = gateFor();
    gate.push(bytesOf(CONNECT));
    expect(gate.push(bytesOf(subscribe("thea/v1/box-b/status"))).ok).toBe(false);
    expect(gate.push(bytesOf({ cmd: "pingreq" })).ok).toBe(false);
  });
});

describe("ConsoleGate: SUBSCRIBE", () => {
  it.each(["thea/v1/box-a/status", "thea/v1/box-a/peripherals/+/reading", "thea/v1/box-a/peripherals/#", "thea/v1/box-a/webrtc/s1/candidate", `${REPLY("box-a")}/#`, `${REPLY("box-a")}/v1`])("lets an operator subscribe to %s", (filter) => {
    expect(after(subscribe(filter))).toMatchObject({ ok: true, out: [{ cmd: "subscribe", subscriptions: [{ topic: filter }] }] });
  });

  it.each([
    ["another site's box", "thea/v1/box-b/status"],
    ["a wildcard box", "thea/v1/+/status"],
    ["a box's whole subtree", "thea/v1/box-a/#"],
    ["everything", "#"],
    ["a shared subscription", "$share/g/thea/v1/box-a/status"],
    ["the box's commands", "thea/v1/box-a/cmd/ping"],
    ["another person's answers", `${REPLY("box-a", "operator.minh")}/#`],
    ["anyone's answers", `thea/v1/box-a/reply/${SERVICE}/+/#`],
    ["every reply", "thea/v1/box-a/reply/#"],
    ["the service's own reply space", `thea/v1/box-a/reply/${SERVICE}/#`],
    ["a technician's topic", "thea/v1/box-a/config/reported"],
    ["desired state", "thea/v1/box-a/update/desired"],
    ["a malformed filter", "thea/v1/box-a/peripherals/a+/reading"],
  ])("refuses an operator %s", (_what, filter) => {
    expect(after(subscribe("thea/v1/box-a/status", filter)).ok).toBe(false);
  });

  it("lets a technician read config/reported and update/state", () => {
    expect(after(subscribe("thea/v1/box-a/config/reported", "thea/v1/box-a/update/state"), { role: "technician" }).ok).toBe(true);
  });

  it("refuses QoS 2", () => {
    expect(after({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "thea/v1/box-a/status", qos: 2 }] }).ok).toBe(false);
  });

  it("holds at most maxSubscriptions filters; the same filter again costs nothing, unsubscribing frees one", () => {
    const gate = gateFor();
    gate.push(bytesOf(CONNECT));
    const candidates = (from: number, count: number) => Array.from({ length: count }, (_, index) => `thea/v1/box-a/webrtc/s${from + index}/candidate`);
    expect(gate.push(bytesOf(subscribe(...candidates(0, 8)))).ok).toBe(true);
    expect(gate.push(bytesOf(subscribe(...candidates(0, 8)))).ok).toBe(true);
    expect(gate.push(bytesOf({ cmd: "unsubscribe", messageId: 9, unsubscriptions: candidates(0, 1) })).ok).toBe(true);
    expect(gate.push(bytesOf(subscribe(...candidates(8, 1)))).ok).toBe(true);
    expect(gate.push(bytesOf(subscribe(...candidates(9, 1))))).toEqual({ ok: false, reason: "more than 8 subscriptions" });
  });
});

describe("ConsoleGate: PUBLISH", () => {
  it.each(["ping", "peripherals.list", "webrtc.offer", "ptz.move"])("lets an operator send %s with an answer in their reply space", (name) => {
    expect(after(command("box-a", name))).toMatchObject({ ok: true, out: [{ cmd: "publish", topic: `thea/v1/box-a/cmd/${name}`, properties: { responseTopic: `${REPLY("box-a")}/v1` } }] });
  });

  it("lets a viewer's gone through", () => {
    expect(after(publish("thea/v1/box-a/webrtc/viewers/v1/gone")).ok).toBe(true);
  });

  it.each([
    ["a technician's command", command("box-a", "agent.restart")],
    ["a command to another box", command("box-b", "ping", `${REPLY("box-b")}/v1`)],
    ["desired state", publish("thea/v1/box-a/update/desired")],
    ["desired config", publish("thea/v1/box-a/config/desired")],
    ["a retained command", { ...command("box-a", "ping"), retain: true }],
    ["QoS 2", { ...command("box-a", "ping"), qos: 2 as const }],
    ["a command with no response topic", publish("thea/v1/box-a/cmd/ping")],
    ["an answer to another person", command("box-a", "ping", `${REPLY("box-a", "operator.minh")}/v1`)],
    ["an answer on another box", command("box-a", "ping", `${REPLY("box-b")}/v1`)],
    ["an answer in the box's command space", command("box-a", "ping", "thea/v1/box-a/cmd/agent.restart")],
    ["a topic alias", { ...command("box-a", "ping"), properties: { responseTopic: `${REPLY("box-a")}/v1`, topicAlias: 1 } }],
    ["the box's own status", publish("thea/v1/box-a/status")],
    ["a made-up box named after a person", command("operator.lan", "ping")],
  ])("refuses an operator %s", (_what, packet) => {
    expect(after(packet).ok).toBe(false);
  });

  it("lets a technician send every command but never desired state", () => {
    expect(after(command("box-a", "agent.restart", `${REPLY("box-a", "technician.tuan")}/1`), { role: "technician", person: "technician.tuan" }).ok).toBe(true);
    expect(after(publish("thea/v1/box-a/update/desired"), { role: "technician", person: "technician.tuan" }).ok).toBe(false);
    expect(after({ ...publish("thea/v1/box-a/config/desired"), retain: true }, { role: "technician", person: "technician.tuan" }).ok).toBe(false);
  });

  it("holds publishes to a burst, then to the rate", () => {
    let now = 0;
    const gate = gateFor({ now: () => now });
    gate.push(bytesOf(CONNECT));
    for (let index = 0; index < LIMITS.publishBurst; index++) expect(gate.push(bytesOf(command("box-a", "ping"))).ok).toBe(true);
    const refused = gateFor({ now: () => now });
    refused.push(bytesOf(CONNECT));
    for (let index = 0; index < LIMITS.publishBurst; index++) refused.push(bytesOf(command("box-a", "ping")));
    expect(refused.push(bytesOf(command("box-a", "ping")))).toEqual({ ok: false, reason: "more than 2 publishes or subscriptions per second" });
    now += 1000; // two more tokens
    expect(gate.push(bytesOf(command("box-a", "ping"))).ok).toBe(true);
    expect(gate.push(bytesOf(command("box-a", "ping"))).ok).toBe(true);
    expect(gate.push(bytesOf(command("box-a", "ping"))).ok).toBe(false);
  });
});

describe("ConsoleGate: subscribing as a flood", () => {
  it("counts subscribes and unsubscribes against the same bucket as publishes", () => {
    const gate = gateFor();
    gate.push(bytesOf(CONNECT));
    for (let index = 0; index < LIMITS.publishBurst; index++) {
      const packet = index % 2 === 0 ? subscribe("thea/v1/box-a/status") : { cmd: "unsubscribe" as const, messageId: 2, unsubscriptions: ["thea/v1/box-a/status"] };
      expect(gate.push(bytesOf(packet)).ok).toBe(true);
    }
    expect(gate.push(bytesOf(subscribe("thea/v1/box-a/status"))).ok).toBe(false);
  });
});

describe("ConsoleGate: other packets", () => {
  it.each<Packet>([{ cmd: "pingreq" }, { cmd: "puback", messageId: 4 }, { cmd: "disconnect" }])("lets $cmd through", (packet) => {
    expect(after(packet).ok).toBe(true);
  });

  it.each<Packet>([{ cmd: "pubrec", messageId: 4 }, { cmd: "pubrel", messageId: 4 }, { cmd: "pubcomp", messageId: 4 }, { cmd: "auth", reasonCode: 0x18 }])("refuses $cmd", (packet) => {
    expect(after(packet).ok).toBe(false);
  });
});

const ALLOWED = new Set(["connect", "publish", "subscribe", "unsubscribe", "puback", "pingreq", "disconnect"]);

/** What an operator of box-a may have reach the broker, whatever they sent. */
function expectOperatorBounds(out: Packet[]): void {
  for (const packet of out) {
    expect(ALLOWED.has(packet.cmd)).toBe(true);
    if (packet.cmd === "connect") expect(packet.clientId).toBe("svc-chosen-1");
    if (packet.cmd === "publish") {
      expect(packet.retain).toBe(false);
      const rest = packet.topic.replace(/^thea\/v1\/box-a\//, "");
      expect([...OPERATOR_COMMANDS.map((name) => `cmd/${name}`)].includes(rest) || /^webrtc\/viewers\/[^/+#]+\/gone$/.test(rest)).toBe(true);
    }
    if (packet.cmd === "subscribe") for (const { topic } of packet.subscriptions) expect(topic.startsWith("thea/v1/box-a/")).toBe(true);
  }
}

describe("ConsoleGate: hostile bytes (fast-check)", () => {
  it("never throws on arbitrary bytes after a connect, and lets out only what an operator may send", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (chunks) => {
        const gate = gateFor();
        gate.push(bytesOf(CONNECT));
        for (const chunk of chunks) {
          const gated = gate.push(Buffer.from(chunk));
          if (gated.ok) expectOperatorBounds(parsed(gated.bytes));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on valid packets with bytes changed, and lets out only what an operator may send", () => {
    const valid = [command("box-a", "ping"), subscribe("thea/v1/box-a/status", `${REPLY("box-a")}/#`), publish("thea/v1/box-a/webrtc/viewers/v1/gone")].map(bytesOf);
    const changed = fc.record({ which: fc.nat(valid.length - 1), edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(changed, { maxLength: 4 }), (packets) => {
        const gate = gateFor();
        gate.push(bytesOf(CONNECT));
        for (const { which, edits } of packets) {
          const bytes = Buffer.from(valid[which] ?? []);
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          const gated = gate.push(bytes);
          if (gated.ok) expectOperatorBounds(parsed(gated.bytes));
        }
      }),
      { numRuns: 3000 },
    );
  });

  const level = fc.constantFrom("thea", "v1", "box-a", "box-b", "+", "#", "", "cmd", "ping", "agent.restart", "reply", SERVICE, "operator.lan", "operator.minh", "update", "desired", "status", "webrtc", "viewers", "gone", "x");
  const topic = fc.array(level, { minLength: 1, maxLength: 8 }).map((levels) => levels.join("/"));
  const packet: fc.Arbitrary<Packet> = fc.oneof(
    fc.record({ topic, responseTopic: fc.option(topic, { nil: undefined }), retain: fc.boolean(), qos: fc.constantFrom(0 as const, 1 as const, 2 as const) }).map(({ topic: name, responseTopic, retain, qos }) =>
      publish(name, { retain, qos, ...(qos === 0 && { messageId: undefined }), ...(responseTopic !== undefined && { properties: { responseTopic } }) }),
    ),
    fc.array(topic, { minLength: 1, maxLength: 3 }).map((topics) => subscribe(...topics)),
  );

  it("forwards only packets within an operator's grants, for structured packets over every topic shape", () => {
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 8 }), (packets) => {
        const gate = gateFor();
        gate.push(bytesOf(CONNECT));
        for (const one of packets) {
          let bytes: Buffer;
          try {
            bytes = bytesOf(one);
          } catch {
            continue; // mqtt-packet itself will not write it: no client could send it either
          }
          const gated = gate.push(bytes);
          if (gated.ok) expectOperatorBounds(parsed(gated.bytes));
        }
      }),
      { numRuns: 3000 },
    );
  });
});
