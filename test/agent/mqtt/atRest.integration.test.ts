/**
 * What the MQTT link holds at rest. mqtt-packet, under mqtt.js, builds a table of 65,536
 * two-byte Buffers (one per packet id, 6.5 MB of heap) at the first packet it writes unless the
 * client turns it off; the agent does. A module preloaded with --import through NODE_OPTIONS
 * prints the size of that table, as the agent's own copy of mqtt-packet sees it, on the agent's
 * standard output every 100 ms.
 */
import { describe, expect, it } from "vitest";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";

const fixture = useBroker();

/** `{"numberTable":N}` lines: N entries in the mqtt-packet that the agent's mqtt loads. */
const REPORT_TABLE = [
  'import { createRequire } from "node:module";',
  'const fromMqtt = createRequire(createRequire(process.argv[1]).resolve("mqtt"));',
  'setInterval(() => process.stdout.write(`${JSON.stringify({ numberTable: Object.keys(fromMqtt("mqtt-packet/numbers.js").cache).length })}\\n`), 100).unref();',
].join("\n");

describe("the MQTT link at rest", () => {
  it("does not hold mqtt-packet's table of 65,536 packet-id buffers once it has published", async () => {
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(REPORT_TABLE)}` },
    });
    fixture.cleanup(() => agent.stop());
    // Online and a command answered: the link has written CONNECT, SUBSCRIBE, PUBLISH packets with ids.
    await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
    const answer = await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/ping`, "{}", { timeoutMs: 30_000 });
    expect(answer.body).toMatchObject({ ok: true });
    const report = await agent.stdout.waitForLine("the number table's size after the answer", (line) => line.startsWith('{"numberTable":'), 10_000, agent.stdout.lines.length);
    expect(JSON.parse(report)).toEqual({ numberTable: 0 });
  });
});
