/**
 * Topic routing: MQTT filter matching (MQTT 5 §4.7) checked by cases and against a reference, and
 * the router's dispatch, each matching handler once, over an in-process connection.
 */
import { EventEmitter } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { filterProblem, topicMatches, TopicRouter } from "../../../agent/mqtt/routes.ts";
import type { ConnectionEvents, IncomingMessage, SubscribeOptions } from "../../../agent/mqtt/connection.ts";
import { createLogger } from "../../../lib/log.ts";
import { LogRing } from "../../../lib/logRing.ts";

class FakeConnection extends EventEmitter<ConnectionEvents> {
  readonly subscriptions = new Map<string, SubscribeOptions>();
  subscribe(filter: string, options: SubscribeOptions = {}): void {
    this.subscriptions.set(filter, options);
  }
}

function setUp() {
  const broker = new FakeConnection();
  const ring = new LogRing({ maxLines: 100, maxBytes: 100_000 });
  const log = createLogger({ level: "debug", destination: new LogRing(), keep: ring });
  const router = new TopicRouter({ broker, log });
  const deliver = (topic: string) => broker.emit("message", { topic, payload: Buffer.from("{}"), retain: false });
  return { broker, ring, router, deliver };
}

describe("topicMatches", () => {
  const cases: [filter: string, topic: string, matches: boolean][] = [
    ["a/b/c", "a/b/c", true],
    ["a/b/c", "a/b", false],
    ["a/b", "a/b/c", false],
    ["a/b/c", "a/b/C", false], // case-sensitive (§4.7.3)
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a//c", true], // + matches an empty level
    ["a/+/c", "a/b/x/c", false],
    ["a/+", "a/b", true],
    ["a/+", "a", false],
    ["a/+", "a/", true],
    ["+", "a", true],
    ["+", "a/b", false],
    ["+/+", "/a", true], // a leading "/" makes an empty first level (§4.7.1.3)
    ["a/#", "a", true], // # matches its parent level too (§4.7.1.2)
    ["a/#", "a/b/c/d", true],
    ["a/#", "ab", false],
    ["a/b/#", "a/c", false],
    ["#", "a/b/c", true],
    ["#", "/", true],
    ["+/b/#", "x/b", true],
    ["thea/v1/clinic-7/cmd/+", "thea/v1/clinic-7/cmd/ping", true],
    ["thea/v1/clinic-7/cmd/+", "thea/v1/clinic-7/cmd/ping/response", false],
    ["thea/v1/clinic-7/webrtc/viewers/+/gone", "thea/v1/clinic-7/webrtc/viewers/v1/gone", true],
    // §4.7.2: wildcards in the first level do not match `$` topics, other levels do.
    ["#", "$SYS/broker/uptime", false],
    ["+/broker/uptime", "$SYS/broker/uptime", false],
    ["$SYS/#", "$SYS/broker/uptime", true],
    ["$SYS/+/uptime", "$SYS/broker/uptime", true],
    ["a/+", "a/$b", true],
  ];
  for (const [filter, topic, matches] of cases) {
    it(`${matches ? "matches" : "does not match"} "${topic}" with "${filter}"`, () => {
      expect(filterProblem(filter)).toBeUndefined();
      expect(topicMatches(filter, topic)).toBe(matches);
    });
  }

  it("refuses filters MQTT forbids (§4.7.1)", () => {
    for (const bad of ["", "a/#/b", "a#", "a/b#", "#/a", "a+", "a/+b/c", "a/\u0000"]) expect(filterProblem(bad), bad).toBeDefined();
    const { router } = setUp();
    expect(() => router.route("a/#/b", () => {})).toThrow(/'#'/);
  });

  it("agrees with a reference matcher on generated filters and topics", () => {
    const level = fc.constantFrom("a", "b", "", "$x", "cmd");
    const topic = fc.array(level, { minLength: 1, maxLength: 5 });
    const filterLevels = fc
      .tuple(fc.array(fc.oneof(level.filter((l) => l !== "$x"), fc.constant("+")), { minLength: 0, maxLength: 5 }), fc.boolean())
      .map(([levels, hash]) => (hash ? [...levels, "#"] : levels))
      .filter((levels) => levels.length > 0);
    fc.assert(
      fc.property(filterLevels, topic, (filter, name) => {
        expect(topicMatches(filter.join("/"), name.join("/"))).toBe(reference(filter, name));
      }),
      { numRuns: 2000 },
    );
  });

  it("matches every topic with the filter made by replacing any of its levels by + or its tail by #", () => {
    const name = fc.array(fc.stringMatching(/^[a-z0-9.$-]{0,6}$/), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(name, fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), fc.nat(6), (levels, plus, cut) => {
        const filter = levels.map((level, index) => (plus[index] ? "+" : level));
        const hashed = [...filter.slice(0, Math.min(cut, filter.length)), "#"];
        const dollar = levels[0]?.startsWith("$") ?? false;
        expect(topicMatches(filter.join("/"), levels.join("/"))).toBe(!(dollar && filter[0] === "+"));
        expect(topicMatches(hashed.join("/"), levels.join("/"))).toBe(!(dollar && (hashed[0] === "+" || hashed[0] === "#")));
      }),
    );
  });
});

/** A matcher written the other way round: by regular expression, as a broker might. */
function reference(filter: string[], topic: string[]): boolean {
  if ((filter[0] === "+" || filter[0] === "#") && topic[0]?.startsWith("$")) return false;
  const escape = (level: string) => level.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  let pattern = filter.map((level) => (level === "+" ? "[^/]*" : level === "#" ? "#" : escape(level))).join("/");
  pattern = pattern.endsWith("/#") ? `${pattern.slice(0, -2)}(/.*)?` : pattern === "#" ? ".*" : pattern;
  return new RegExp(`^${pattern}$`).test(topic.join("/"));
}

describe("TopicRouter", () => {
  it("subscribes each filter with its options and hands a message to each matching handler once", () => {
    const { broker, router, deliver } = setUp();
    router.start();
    const got: string[] = [];
    const both = (message: IncomingMessage) => got.push(`both ${message.topic}`);
    router.route("thea/v1/c/cmd/+", (message) => got.push(`cmd ${message.topic}`), { retainHandling: 2 });
    router.route("thea/v1/c/#", both);
    router.route("thea/v1/+/cmd/ping", both); // the same handler through a second filter: still once
    deliver("thea/v1/c/cmd/ping");
    deliver("thea/v1/c/config/desired");
    expect(got).toEqual(["cmd thea/v1/c/cmd/ping", "both thea/v1/c/cmd/ping", "both thea/v1/c/config/desired"]);
    expect(broker.subscriptions.get("thea/v1/c/cmd/+")).toEqual({ retainHandling: 2 });
    expect([...broker.subscriptions.keys()]).toEqual(["thea/v1/c/cmd/+", "thea/v1/c/#", "thea/v1/+/cmd/ping"]);
  });

  it("logs an unrouted message at debug and drops it; a failing handler does not keep it from the others", () => {
    const { ring, router, deliver } = setUp();
    router.start();
    const got: string[] = [];
    router.route("a/+", () => {
      throw new Error("handler bug");
    });
    router.route("a/#", (message) => got.push(message.topic));
    deliver("a/b");
    deliver("elsewhere");
    expect(got).toEqual(["a/b"]);
    const lines = ring.tail(100);
    expect(lines).toContainEqual(expect.objectContaining({ msg: "message handler failed", topic: "a/b" }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: "no route for message; dropped", topic: "elsewhere" }));
  });

  it("leaves no listener on the connection once stopped, and a removed route gets nothing", () => {
    const { broker, router, deliver } = setUp();
    router.start();
    const got: string[] = [];
    const unroute = router.route("a/#", (message) => got.push(message.topic));
    deliver("a/1");
    unroute();
    deliver("a/2");
    router.stop();
    expect(got).toEqual(["a/1"]);
    expect(broker.listenerCount("message")).toBe(0);
  });
});
