/** Publishing JSON through the topic→payload map: the wire bytes, and what does not compile. */
import { describe, expect, it } from "vitest";
import { publishJson } from "../../../agent/mqtt/publish.ts";
import { deviceTopics } from "../../../agent/core/topics.ts";
import type { PublishOptions } from "../../../agent/mqtt/connection.ts";
import type { StatusOffline } from "../../../agent/core/api.ts";

describe("publishJson", () => {
  const topics = deviceTopics("clinic-7");

  it("publishes JSON.stringify's bytes of the payload on the topic, with the options given", async () => {
    const published: [string, string | Buffer, PublishOptions | undefined][] = [];
    const broker = { publish: async (topic: string, payload: string | Buffer, options?: PublishOptions) => Boolean(published.push([topic, payload, options])) };
    const status: StatusOffline = { online: false, reason: "shutdown", bootId: "b-1" };
    await publishJson(broker, topics.status, status, { qos: 1, retain: true });
    expect(published).toEqual([["thea/v1/clinic-7/status", '{"online":false,"reason":"shutdown","bootId":"b-1"}', { qos: 1, retain: true }]]);
  });

  it("does not compile a payload of another topic's type, nor a topic not built by topics.ts", () => {
    const broker = { publish: async () => true };
    const state = { state: "idle", version: null, runningVersion: "1.0.0", floor: null, progress: null, result: null, reason: null, since: "" } as const;
    // Type-level checks: tsc -p tsconfig.json fails if any of these lines compiles.
    const wrong = () => {
      // @ts-expect-error an update state is not a status
      void publishJson(broker, topics.status, state);
      // @ts-expect-error a plain string is not a branded topic
      void publishJson(broker, "thea/v1/clinic-7/status", { online: false, reason: "shutdown", bootId: "b" });
      void publishJson(broker, topics.updateState, state);
    };
    expect(typeof wrong).toBe("function");
  });
});
