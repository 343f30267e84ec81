/**
 * What the console relay lets a person send to the broker through the fleet service's own
 * connection, whose broker rights are far wider than theirs (every box, desired state). The same
 * table the broker's ACL is made from (tools/roster/roles.ts) decides, for the person their client
 * certificate names: a packet outside it is refused and the connection ends. Pure: a parsed MQTT 5
 * packet in, the packet to forward (possibly rewritten) or the reason it is refused out.
 *
 * Let through: CONNECT first and once (MQTT 5, clean, the service's client id, no credentials, a
 * will only on a viewer's `gone` topic of a box they see); SUBSCRIBE within their role's read
 * grants for a box they see, named (no wildcard at the box level), or their own reply space;
 * PUBLISH to their role's write grants, QoS 0 or 1, never retained, no topic alias, a response
 * topic (required for a command) inside their reply space of that box; PUBACK, PINGREQ,
 * UNSUBSCRIBE, DISCONNECT. Nothing else (QoS 2's handshake, AUTH, a second CONNECT).
 */
import type { IConnectPacket, IPublishPacket, ISubscribePacket, Packet } from "mqtt-packet";
import { DEVICE_ID_PATTERN } from "../../config/schema.ts";
import { ROLE_GRANTS, type Role } from "../roster/roles.ts";

export interface ConsoleGrant {
  /** The fleet service's CN on the broker: answers come under `reply/{serviceCn}/…`. */
  readonly serviceCn: string;
  /** The person's CN (ROLE.NAME); their answers are `reply/{serviceCn}/{personCn}/#`. */
  readonly personCn: string;
  readonly role: Exclude<Role, "backend">;
  sees(deviceId: string): boolean;
}

export interface PolicyLimits {
  /** Distinct subscription filters one connection may hold. */
  readonly maxSubscriptions: number;
  /** Publishes, subscribes and unsubscribes at once (a token bucket's size), and per second after that. */
  readonly publishBurst: number;
  readonly publishesPerSecond: number;
}

export type Verdict = { ok: true; packet: Packet } | { ok: false; reason: string };

const ROOT = ["thea", "v1"];
/** mqtt.js's default is 60 s; a page asking for none, or for more, gets this. */
const MAX_KEEPALIVE_S = 300;

/** One connection's state: whether it has connected, its filters, its publish budget. */
export class ConsolePolicy {
  readonly #grant: ConsoleGrant;
  readonly #limits: PolicyLimits;
  readonly #clientId: string;
  readonly #now: () => number;
  readonly #filters = new Set<string>();
  #connected = false;
  #tokens: number;
  #lastRefill: number;

  constructor(options: { grant: ConsoleGrant; limits: PolicyLimits; clientId: string; now?: () => number }) {
    this.#grant = options.grant;
    this.#limits = options.limits;
    this.#clientId = options.clientId;
    this.#now = options.now ?? Date.now;
    this.#tokens = options.limits.publishBurst;
    this.#lastRefill = this.#now();
  }

  check(packet: Packet): Verdict {
    if (!this.#connected && packet.cmd !== "connect") return refuse(`${packet.cmd} before connect`);
    switch (packet.cmd) {
      case "connect":
        return this.#connect(packet);
      case "publish":
        return this.#publish(packet);
      case "subscribe":
        return this.#subscribe(packet);
      case "unsubscribe":
        if (!this.#spend()) return this.#tooFast();
        for (const filter of packet.unsubscriptions) this.#filters.delete(filter);
        return { ok: true, packet };
      case "puback":
      case "pingreq":
      case "disconnect":
        return { ok: true, packet };
      default:
        return refuse(`${packet.cmd} is not relayed`);
    }
  }

  #connect(packet: IConnectPacket): Verdict {
    if (this.#connected) return refuse("a second connect");
    if (packet.protocolVersion !== 5) return refuse("only MQTT 5");
    if (packet.username !== undefined || packet.password !== undefined) return refuse("no username or password: the certificate names you");
    const properties = packet.properties;
    if (properties?.authenticationMethod !== undefined) return refuse("no enhanced authentication");
    const will = packet.will;
    if (will) {
      if (will.retain === true || (will.qos ?? 0) > 1) return refuse("a will neither retained nor QoS 2");
      const box = this.#boxOf(levelsOf(will.topic));
      if (box === undefined || !matches(levelsOf(will.topic).slice(3), ["webrtc", "viewers", "+", "gone"])) return refuse(`a will on ${clip(will.topic)}`);
      const responseTopic = will.properties?.responseTopic;
      if (responseTopic !== undefined && !this.#inReplySpace(responseTopic, box)) return refuse("a will's response topic outside your reply space");
    }
    this.#connected = true;
    // The service chooses the client id (a page's own could take over another connection), the
    // session ends with the connection, and no user property of the page's reaches the broker.
    const forwarded: IConnectPacket = {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 5,
      clean: true,
      // Never 0 (no keep-alive): the broker ends a connection silent for 1.5 times it (MQTT 5.0
      // §3.1.2.10), so a tab that vanished without closing frees its place within minutes.
      keepalive: keepAliveOf(packet.keepalive),
      clientId: this.#clientId,
      ...(will && { will }),
      properties: {
        ...(properties?.receiveMaximum !== undefined && { receiveMaximum: properties.receiveMaximum }),
        ...(properties?.maximumPacketSize !== undefined && { maximumPacketSize: properties.maximumPacketSize }),
        ...(properties?.topicAliasMaximum !== undefined && { topicAliasMaximum: properties.topicAliasMaximum }),
        ...(properties?.requestProblemInformation !== undefined && { requestProblemInformation: properties.requestProblemInformation }),
      },
    };
    return { ok: true, packet: forwarded };
  }

  #publish(packet: IPublishPacket): Verdict {
    if (packet.retain) return refuse("a retained publish");
    if (packet.qos > 1) return refuse("QoS 2");
    if (packet.properties?.topicAlias !== undefined) return refuse("a topic alias");
    const levels = levelsOf(packet.topic);
    const box = this.#boxOf(levels);
    const rest = levels.slice(3);
    if (box === undefined || levels.some(isWildcardOrEmpty) || !ROLE_GRANTS[this.#grant.role].write.some((grant) => matches(rest, grant.split("/")))) {
      return refuse(`publish to ${clip(packet.topic)}`);
    }
    const responseTopic = packet.properties?.responseTopic;
    if (rest[0] === "cmd" && responseTopic === undefined) return refuse("a command without a response topic");
    if (responseTopic !== undefined && !this.#inReplySpace(responseTopic, box)) return refuse(`response topic ${clip(responseTopic)} outside your reply space`);
    if (!this.#spend()) return this.#tooFast();
    return { ok: true, packet };
  }

  #subscribe(packet: ISubscribePacket): Verdict {
    if (!this.#spend()) return this.#tooFast();
    const grants = ROLE_GRANTS[this.#grant.role];
    const readable = [...grants.read, ...grants.readwrite].map((grant) => grant.split("/"));
    const added = new Set<string>();
    for (const subscription of packet.subscriptions) {
      const levels = levelsOf(subscription.topic);
      const box = this.#boxOf(levels);
      const rest = levels.slice(3);
      const reply = ["reply", this.#grant.serviceCn, this.#grant.personCn, "#"];
      const allowed = box !== undefined && wellFormedFilter(levels) && (readable.some((grant) => insideOf(rest, grant)) || insideOf(rest, reply));
      if (!allowed) return refuse(`subscribe to ${clip(subscription.topic)}`);
      if (subscription.qos > 1) return refuse("QoS 2");
      if (!this.#filters.has(subscription.topic)) added.add(subscription.topic);
    }
    if (this.#filters.size + added.size > this.#limits.maxSubscriptions) return refuse(`more than ${this.#limits.maxSubscriptions} subscriptions`);
    for (const filter of added) this.#filters.add(filter);
    return { ok: true, packet };
  }

  /** The box of `thea/v1/{box}/…` when it is named (no wildcard) and theirs; undefined otherwise. */
  #boxOf(levels: readonly string[]): string | undefined {
    const box = levels[2];
    if (levels[0] !== ROOT[0] || levels[1] !== ROOT[1] || box === undefined || levels.length < 4) return undefined;
    return DEVICE_ID_PATTERN.test(box) && this.#grant.sees(box) ? box : undefined;
  }

  /** `thea/v1/{box}/reply/{serviceCn}/{personCn}[/…]`, a topic name (no wildcard, no empty level). */
  #inReplySpace(topic: string, box: string): boolean {
    const levels = levelsOf(topic);
    const { serviceCn, personCn } = this.#grant;
    return !levels.some(isWildcardOrEmpty) && levels.length >= 6 && matches(levels, [...ROOT, box, "reply", serviceCn, personCn, "#"]);
  }

  #tooFast(): Verdict {
    return refuse(`more than ${this.#limits.publishesPerSecond} publishes or subscriptions per second`);
  }

  /** Takes one publish, subscribe or unsubscribe from the bucket, refilled at the configured rate. */
  #spend(): boolean {
    const now = this.#now();
    const { publishBurst, publishesPerSecond } = this.#limits;
    this.#tokens = Math.min(publishBurst, this.#tokens + ((now - this.#lastRefill) / 1000) * publishesPerSecond);
    this.#lastRefill = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

function keepAliveOf(asked: number | undefined): number {
  return asked !== undefined && asked > 0 && asked <= MAX_KEEPALIVE_S ? asked : MAX_KEEPALIVE_S;
}

function refuse(reason: string): Verdict {
  return { ok: false, reason };
}

function levelsOf(topic: string): string[] {
  return topic.split("/");
}

function isWildcardOrEmpty(level: string): boolean {
  return level === "" || /[+#\u0000]/.test(level);
}

/** A filter as MQTT allows it: `+` and `#` alone in their level, `#` last (MQTT 5.0 §4.7.1), no NUL. */
function wellFormedFilter(levels: readonly string[]): boolean {
  return levels.every((level, index) => {
    if (level === "#") return index === levels.length - 1;
    return level === "+" || !/[+#\u0000]/.test(level);
  });
}

/** Whether topic name `topic` (as levels) matches filter `filter` (MQTT 5.0 §4.7). */
function matches(topic: readonly string[], filter: readonly string[]): boolean {
  return insideOf(topic, filter);
}

/**
 * Whether every topic filter `inner` matches is also matched by `outer`: the filter a page asks
 * for stays inside a grant. A topic name is a filter without wildcards, so this also matches names.
 */
function insideOf(inner: readonly string[], outer: readonly string[]): boolean {
  for (const [index, level] of outer.entries()) {
    if (level === "#") return true; // `a/#` also matches `a` itself (§4.7.1.2)
    const mine = inner[index];
    if (mine === undefined || mine === "#") return false;
    if (level !== "+" && mine !== level) return false;
  }
  return inner.length === outer.length;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
