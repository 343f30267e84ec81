/**
 * Remote configuration against a real agent and mosquitto: desired (retained) in, reported
 * (retained) out. Live changes keep the process; a change that needs a restart is taken over a
 * restart (the test plays systemd and starts the agent again on the same data disk); a bad change
 * is refused with every problem named, or — if it keeps the box off the broker — undone.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ConfigReported } from "../../../agent/remoteConfig/service.ts";
import { AgentProcess, type AgentProcessOptions } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { freePort } from "../../helpers/ports.ts";
import { PtyPair } from "../../helpers/ptyPair.ts";
import { SimulatorProcess } from "../../helpers/simulatorProcess.ts";
import { watchOverLoopback } from "../../helpers/loopbackViewer.ts";
import { TopicLog } from "../../helpers/topicLog.ts";

const fixture = useBroker();

interface Box {
  options: AgentProcessOptions;
  agent: AgentProcess;
  /** The next reported config that matches. */
  reported: (match: (reported: ConfigReported) => boolean) => Promise<ConfigReported>;
  desire: (desired: object) => Promise<void>;
  /** What systemd does after the agent exits: start it again, same file, same data disk. */
  restart: () => Promise<AgentProcess>;
}

async function box(extra: Partial<AgentProcessOptions> = {}): Promise<Box> {
  const dataDir = path.join(await mkdtemp(path.join(tmpdir(), "thea-remote-")), "data");
  const options: AgentProcessOptions = { brokerUrl: fixture.broker.url, dataDir, deviceId: `remote-${path.basename(path.dirname(dataDir)).slice(-6).toLowerCase()}`, ...extra };
  const start = async () => {
    const agent = await AgentProcess.start(options);
    fixture.cleanup(() => agent.stop());
    return agent;
  };
  const topic = (leaf: string) => `thea/v1/${options.deviceId ?? ""}/config/${leaf}`;
  const reports = await TopicLog.open<ConfigReported>(fixture.watcher, topic("reported"));
  const state: Box = {
    options,
    agent: await start(),
    reported: (match) => reports.next(match, 60_000),
    desire: (desired) => fixture.watcher.publish(topic("desired"), JSON.stringify(desired), { qos: 1, retain: true }),
    restart: async () => {
      state.agent = await start();
      return state.agent;
    },
  };
  fixture.cleanup(() => fixture.watcher.publish(topic("desired"), "", { qos: 1, retain: true }));
  return state;
}

// Several agent starts per test; on a loaded 2-core machine each can take seconds.
describe("remote configuration", { timeout: 90_000 }, () => {
  it("applies live changes without restarting: log level, telemetry, a peripheral added", async () => {
    // The level comes from the file here, not the environment (which would win over a remote change).
    const { agent, reported, desire } = await box({ env: { THEA_LOG_LEVEL: "" } });
    const initial = await reported((r) => r.version === 0);
    expect(initial).toMatchObject({ state: "applied", lastError: null });

    await desire({ version: 1, config: { log: { level: "warn" }, telemetry: { healthIntervalSec: 5 } } });
    const first = await reported((r) => r.version === 1);
    expect(first).toMatchObject({ state: "applied", lastError: null, config: { log: { level: "warn" }, telemetry: { healthIntervalSec: 5 } } });
    expect(first.hash).not.toBe(initial.hash);

    const pty = new PtyPair(await mkdtemp(path.join(tmpdir(), "thea-remote-pty-")), "oximeter");
    await pty.open();
    fixture.cleanup(() => pty.close());
    const simulator = await SimulatorProcess.start("nonin", pty.deviceEnd);
    fixture.cleanup(() => simulator.stop());
    const reading = fixture.watcher.next(`thea/v1/${agent.deviceId}/peripherals/oximeter/reading`, () => true, 20_000);
    await desire({ version: 2, patch: { peripherals: [{ id: "oximeter", driver: "nonin", port: pty.agentEnd }] } });
    expect(await reported((r) => r.version === 2)).toMatchObject({ state: "applied", config: { telemetry: { healthIntervalSec: 5 }, peripherals: [{ id: "oximeter" }] } });
    expect((await reading).json()).toMatchObject({ peripheral: "oximeter", driver: "nonin" });
    expect(agent.running).toBe(true); // the same process all along
    // At warn, the devices logger (made at start) no longer writes its info lines.
    expect(agent.stdout.lines.filter((line) => line.includes('"peripheral":"oximeter"') && line.includes('"level":30'))).toEqual([]);
  });

  it("refuses an invalid or forbidden change with every problem named, and keeps running the old one", async () => {
    const { agent, reported, desire } = await box();
    await desire({ version: 1, patch: { telemetry: { healthIntervalSec: 7 } } });
    await reported((r) => r.version === 1);

    await desire({ version: 2, patch: { telemetry: { healthIntervalSec: -1 }, peripherals: [{ id: "x", driver: "kettle", port: "/dev/null" }] } });
    const invalid = await reported((r) => r.lastError?.version === 2);
    expect(invalid).toMatchObject({ version: 1, config: { telemetry: { healthIntervalSec: 7 } } });
    expect(invalid.lastError?.errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/^telemetry\.healthIntervalSec: /), expect.stringMatching(/^peripherals\[0\]\.driver: /)]),
    );

    await desire({ version: 3, patch: { mqtt: { url: "mqtt://127.0.0.1:1" } } });
    expect((await reported((r) => r.lastError?.version === 3)).lastError?.errors).toEqual([expect.stringMatching(/^mqtt: set by the box's own file/)]);
    await desire({ version: 4, patch: { dataDir: "/tmp/elsewhere" }, allowBootstrap: true });
    expect((await reported((r) => r.lastError?.version === 4)).lastError?.errors).toEqual(["dataDir: cannot be set remotely"]);

    await fixture.watcher.publish(`thea/v1/${agent.deviceId}/config/desired`, "{not json", { qos: 1, retain: true });
    expect((await reported((r) => r.lastError?.errors[0]?.startsWith("(payload): not JSON") === true)).version).toBe(1);
    expect(agent.running).toBe(true);
  });

  it("does not remember a refused version: a later valid one applies, after a restart too, and older ones stay ignored", async () => {
    const box1 = await box();
    await box1.reported((r) => r.version === 0);
    // Valid JSON, a valid version, an invalid patch: refused, and it must not lock the box out.
    await box1.desire({ version: Number.MAX_SAFE_INTEGER, patch: { telemetry: { healthIntervalSec: "soon" } } });
    expect(await box1.reported((r) => r.lastError?.version === Number.MAX_SAFE_INTEGER)).toMatchObject({ version: 0 });
    await box1.agent.stop();
    await box1.restart(); // the refused message is still retained and comes back: refused again
    await box1.desire({ version: 5, patch: { telemetry: { healthIntervalSec: 5 } } });
    expect(await box1.reported((r) => r.version === 5)).toMatchObject({ state: "applied", lastError: null, config: { telemetry: { healthIntervalSec: 5 } } });
    // A replayed older version is still ignored; a newer one applies.
    await box1.desire({ version: 4, patch: { telemetry: { healthIntervalSec: 4 } } });
    await box1.desire({ version: 6, patch: { telemetry: { healthIntervalSec: 6 } } });
    const after = await box1.reported((r) => r.version === 6);
    expect(after).toMatchObject({ config: { telemetry: { healthIntervalSec: 6 } } });
  });

  it("config.reset drops the remote layer, answers what it dropped, and leaves the retained desired message unapplied", async () => {
    const box1 = await box();
    const command = async (name: string, params: object = {}) =>
      (await fixture.watcher.request(`thea/v1/${box1.options.deviceId ?? ""}/cmd/${name}`, JSON.stringify(params))).body as { ok: boolean; result?: Record<string, unknown> };
    await box1.desire({ version: 3, patch: { telemetry: { healthIntervalSec: 7 }, log: { level: "debug" } } });
    await box1.reported((r) => r.version === 3);

    expect(await command("config.reset")).toEqual({ ok: true, result: { dropped: { version: 3, keys: ["log", "telemetry"] }, skipUpTo: 3, restarting: false } });
    expect(await box1.reported((r) => r.version === 0)).toMatchObject({ state: "applied", lastError: null, config: { telemetry: { healthIntervalSec: 60 } } });
    expect(box1.agent.running).toBe(true);

    // Version 3 is still retained on the broker: not applied again at the next start either.
    await box1.agent.stop();
    await box1.restart();
    expect(await box1.reported((r) => r.version === 0)).toMatchObject({ config: { telemetry: { healthIntervalSec: 60 } } });
    await box1.desire({ version: 4, patch: { telemetry: { healthIntervalSec: 8 } } });
    expect(await box1.reported((r) => r.version === 4)).toMatchObject({ config: { telemetry: { healthIntervalSec: 8 } } });
  });

  it("holds a remote layer to the box's remotePolicy: networks, listeners, files, floors, and the policy itself", async () => {
    const port = await freePort();
    const box1 = await box({ extraYaml: "remotePolicy: { networks: [127.0.0.0/8], floors: { rebootMinIntervalMin: 10 } }" });
    await box1.reported((r) => r.version === 0);
    const refused = async (version: number, patch: object) => {
      await box1.desire({ version, patch });
      return (await box1.reported((r) => r.lastError?.version === version)).lastError?.errors;
    };
    const hl7 = (tcp: object) => ({ peripherals: [{ id: "monitor", driver: "hl7-mllp", tcp }] });
    expect(await refused(1, hl7({ connect: `10.9.8.7:${port}` }))).toEqual([expect.stringMatching(/^peripherals\[0\]\.tcp\.connect: 10\.9\.8\.7 is outside remotePolicy\.networks/)]);
    expect(await refused(2, hl7({ listen: `0.0.0.0:${port}` }))).toEqual([expect.stringMatching(/^peripherals\[0\]\.tcp\.listen: 0\.0\.0\.0 is not in remotePolicy\.listenAddresses/)]);
    expect(await refused(3, { media: { turnTlsCa: "/etc/passwd" } })).toEqual([expect.stringMatching(/^media\.turnTlsCa: \/etc\/passwd is not under remotePolicy\.fileDirectories/)]);
    expect(await refused(4, { management: { rebootMinIntervalMin: 1 } })).toEqual([expect.stringMatching(/^management\.rebootMinIntervalMin: 1 is below remotePolicy\.floors/)]);
    expect(await refused(5, { remotePolicy: { networks: ["0.0.0.0/0"] } })).toEqual(["remotePolicy: cannot be set remotely"]);
    // Inside the networks the box's own file lists: applied.
    await box1.desire({ version: 6, patch: hl7({ connect: `127.0.0.1:${port}` }) });
    expect(await box1.reported((r) => r.version === 6)).toMatchObject({ lastError: null, config: { peripherals: [{ id: "monitor", tcp: { connect: `127.0.0.1:${port}` } }] } });
  });

  it("takes a change that needs a restart over a clean restart, and keeps it", async () => {
    const box1 = await box();
    await box1.reported((r) => r.version === 0);
    await box1.desire({ version: 1, patch: { outbox: { replayRatePerSec: 20 } } });
    expect(await box1.agent.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    await box1.restart();
    expect(await box1.reported((r) => r.version === 1 && r.state === "applied")).toMatchObject({ lastError: null, config: { outbox: { replayRatePerSec: 20 } } });
  });

  it("undoes a change that keeps the box off the broker, back to the last known good", async () => {
    const deadBroker = `mqtt://127.0.0.1:${await freePort()}`;
    const box1 = await box({
      env: { THEA_MQTT_URL: "" }, // the broker's address comes from the file, so a remote change can move it
      mqttYaml: `url: ${fixture.broker.url}`,
      extraYaml: "management: { allowRemoteBootstrap: true, configGraceSec: 10 }",
    });
    await box1.desire({ version: 1, patch: { telemetry: { healthIntervalSec: 9 } } });
    await box1.reported((r) => r.version === 1);
    await box1.desire({ version: 2, allowBootstrap: true, patch: { mqtt: { url: deadBroker } } });
    expect(await box1.agent.waitForExit(15_000)).toEqual({ code: 0, signal: null });

    await box1.restart(); // on version 2: no broker there; after the grace period it undoes itself
    expect(await box1.agent.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    await box1.restart();
    const back = await box1.reported((r) => r.lastError?.version === 2);
    expect(back).toMatchObject({ version: 1, state: "applied", config: { telemetry: { healthIntervalSec: 9 } } });
    expect(back.lastError?.errors[0]).toMatch(/version 2 was undone \(back to version 1\): the broker was not reached within 10 s/);
  });

  it("adds a camera live, and changes a watched one only by a restart after the consultation", async () => {
    const box1 = await box({ extraYaml: "media: { loopbackOnly: true }" });
    const command = async (name: string, params: object = {}) =>
      (await fixture.watcher.request(`thea/v1/${box1.options.deviceId ?? ""}/cmd/${name}`, JSON.stringify(params))).body as { ok: boolean; result?: Record<string, unknown> };
    await box1.desire({ version: 1, patch: { cameras: [{ id: "cam1", source: { type: "test" }, codec: "vp8", width: 320, height: 240 }] } });
    expect(await box1.reported((r) => r.version === 1)).toMatchObject({ state: "applied" });
    expect(await command("media.sessions")).toMatchObject({ ok: true, result: { cameras: [{ id: "cam1" }] } });

    const consultation = await watchOverLoopback(command, "cam1");
    fixture.cleanup(() => consultation.close());
    await box1.desire({ version: 2, patch: { cameras: [{ id: "cam1", source: { type: "test" }, codec: "vp8", width: 640, height: 480 }] } });
    expect(await box1.reported((r) => r.version === 2)).toMatchObject({ state: "waiting-for-idle" });
    expect(box1.agent.running).toBe(true);
    await command("webrtc.close", { sessionId: consultation.sessionId });
    expect(await box1.agent.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    await box1.restart();
    expect(await box1.reported((r) => r.version === 2 && r.state === "applied")).toMatchObject({ config: { cameras: [{ id: "cam1", width: 640 }] } });
  });
});
