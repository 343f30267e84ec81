/**
 * PTZ over MQTT: ptz.* commands through the agent to a simulated VISCA camera on a real
 * pseudo-terminal pair, and over UDP (VISCA over IP), answered on the MQTT 5 response topic.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { freePort } from "../../helpers/ports.ts";
import { PtyPair } from "../../helpers/ptyPair.ts";
import { SimulatorProcess } from "../../helpers/simulatorProcess.ts";

const fixture = useBroker();

async function agentWithCamera(peripheralYaml: string): Promise<(name: string, params?: object) => Promise<unknown>> {
  const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, extraYaml: `peripherals:\n  - ${peripheralYaml}` });
  fixture.cleanup(() => agent.stop());
  await fixture.watcher.next(`thea/v1/${agent.deviceId}/peripherals/camera/state`, (m) => (m.json() as { connected: boolean }).connected);
  return async (name, params = {}) => (await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/${name}`, JSON.stringify(params))).body;
}

async function serialCamera(withSimulator = true): Promise<string> {
  const pty = new PtyPair(await mkdtemp(path.join(tmpdir(), "thea-ptz-")), "camera");
  await pty.open();
  fixture.cleanup(() => pty.close());
  if (withSimulator) {
    const simulator = await SimulatorProcess.start("visca", pty.deviceEnd);
    fixture.cleanup(() => simulator.stop());
  }
  return pty.agentEnd;
}

describe("a VISCA camera on a serial line", () => {
  it("goes to a position, stores and recalls a preset, and reports where it is", async () => {
    const port = await serialCamera();
    const command = await agentWithCamera(`{ id: camera, driver: visca, port: "${port}" }`);

    expect(await command("ptz.goto", { pan: -1200, tilt: 300 })).toEqual({ ok: true, result: { done: true } });
    expect(await command("ptz.zoom", { position: 4096 })).toMatchObject({ ok: true });
    expect(await command("ptz.position")).toEqual({ ok: true, result: { pan: -1200, tilt: 300, zoom: 4096 } });
    expect(await command("ptz.preset.set", { peripheral: "camera", preset: 2 })).toMatchObject({ ok: true });
    expect(await command("ptz.move", { direction: "right", speed: 10 })).toMatchObject({ ok: true });
    expect(await command("ptz.stop")).toMatchObject({ ok: true });
    expect(await command("ptz.preset.recall", { preset: 2 })).toMatchObject({ ok: true });
    expect(await command("ptz.position")).toMatchObject({ result: { pan: -1200, tilt: 300 } });
  });

  it("answers with clear errors: camera refusal, bad parameters, unknown peripheral", async () => {
    const port = await serialCamera();
    const command = await agentWithCamera(`{ id: camera, driver: visca, port: "${port}" }`);
    expect(await command("ptz.preset.recall", { preset: 99 })).toMatchObject({
      ok: false,
      error: { code: "device-rejected", message: expect.stringContaining("command not executable") },
    });
    expect(await command("ptz.move", { direction: "sideways" })).toMatchObject({ ok: false, error: { code: "invalid-params" } });
    expect(await command("ptz.stop", { peripheral: "oven" })).toMatchObject({ ok: false, error: { code: "unknown-peripheral" } });
  });

  it("times out cleanly when nothing answers on the line", async () => {
    const port = await serialCamera(false);
    const command = await agentWithCamera(`{ id: camera, driver: visca, port: "${port}", options: { replyTimeoutMs: 300 } }`);
    expect(await command("ptz.position")).toMatchObject({ ok: false, error: { code: "device-timeout" } });
  });
});

describe("a VISCA camera over IP", () => {
  it("takes commands in UDP datagrams with the VISCA-over-IP header", async () => {
    const port = await freePort();
    const simulator = await SimulatorProcess.start("visca", ["--udp-bind", `127.0.0.1:${port}`, "--options", '{"transport":"ip"}']);
    fixture.cleanup(() => simulator.stop());
    const command = await agentWithCamera(`{ id: camera, driver: visca, udp: "127.0.0.1:${port}", options: { transport: ip } }`);
    expect(await command("ptz.goto", { pan: 50, tilt: -40 })).toMatchObject({ ok: true });
    expect(await command("ptz.position")).toEqual({ ok: true, result: { pan: 50, tilt: -40, zoom: 0 } });
  });
});
