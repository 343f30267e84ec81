/**
 * The heartbeat a fleet view times a silent box by (issue 16, "a box that dies appears offline
 * within its keep-alive + 5 s"): a real agent on a real mosquitto, with a keep-alive of 5 s.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { StatusOnline } from "../../../agent/core/api.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";

const fixture = useBroker();

describe("thea/v1/{deviceId}/alive", () => {
  it("is published empty, not retained, at QoS 1, again and again while connected; status says the keep-alive it follows", async () => {
    const deviceId = `test-${randomBytes(4).toString("hex")}`;
    const root = `thea/v1/${deviceId}`;
    const status = fixture.watcher.next(`${root}/status`, (message) => (message.json() as StatusOnline).online);
    const heard: { payload: Buffer; retain: boolean; qos: number }[] = [];
    let arrived = (): void => undefined;
    fixture.watcher.client.on("message", (topic, payload, packet) => {
      if (topic !== `${root}/alive`) return;
      heard.push({ payload, retain: packet.retain, qos: packet.qos });
      arrived();
    });
    // Subscribed (SUBACK) before the box exists, so none of its heartbeats is missed.
    await fixture.watcher.armed(`${root}/alive`, () => true, 20_000);

    const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, deviceId, mqttYaml: "keepaliveSec: 5" });
    fixture.cleanup(() => agent.stop());

    expect((await status).json()).toMatchObject({ online: true, keepaliveSec: 5 });
    await new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`two heartbeats expected, heard ${heard.length}`)), 20_000);
      arrived = () => {
        if (heard.length < 2) return;
        clearTimeout(timeout);
        resolve();
      };
      arrived();
    });
    for (const message of heard) expect(message).toEqual({ payload: Buffer.alloc(0), retain: false, qos: 1 });
  });
});
