/**
 * The operator console (viewer/index.html, served by `thea console`'s server with its
 * MQTT-over-WebSocket bridge) in a real headless Chromium, against a real agent with a test
 * camera, a simulated Nonin oximeter and a simulated VISCA head on pseudo-terminal pairs.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { eventually, pageReaches, useBrowser } from "../../helpers/browserFixture.ts";
import { PtyPair } from "../../helpers/ptyPair.ts";
import { SimulatorProcess } from "../../helpers/simulatorProcess.ts";

const fixture = useBroker();
const chrome = useBrowser(fixture);

async function simulated(driver: string): Promise<string> {
  const pty = new PtyPair(await mkdtemp(path.join(tmpdir(), "thea-console-")), driver);
  await pty.open();
  fixture.cleanup(() => pty.close());
  const simulator = await SimulatorProcess.start(driver, pty.deviceEnd);
  fixture.cleanup(() => simulator.stop());
  return pty.agentEnd;
}

describe("the operator console in a real browser", () => {
  it("lists the cameras and plays one, shows live readings, and drives the PTZ head by pointer and keyboard", async () => {
    const [oximeterPort, headPort] = await Promise.all([simulated("nonin"), simulated("visca")]);
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      extraYaml: [
        "media: { loopbackOnly: true }",
        "cameras:",
        `  - { id: room, source: { type: test }, width: 640, height: 360, talkback: { sink: { type: wav, path: "${path.join(await mkdtemp(path.join(tmpdir(), "thea-console-")), "speaker.wav")}" } } }`,
        "peripherals:",
        `  - { id: oximeter, driver: nonin, port: "${oximeterPort}" }`,
        `  - { id: head, driver: visca, port: "${headPort}" }`,
      ].join("\n"),
    });
    fixture.cleanup(() => agent.stop());
    await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
    const command = async (name: string, params: object = {}) =>
      (await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/${name}`, JSON.stringify(params))).body as { result: Record<string, unknown> };

    const broker = encodeURIComponent(`ws://127.0.0.1:${chrome.server.port}/mqtt`);
    const page = await chrome.browser.open(chrome.server.url(`/?broker=${broker}&device=${agent.deviceId}`));
    fixture.cleanup(() => page.close());
    expect(await pageReaches(page, "the broker connected", "document.getElementById('broker').textContent === 'connected'")).toBe(true);
    expect(await pageReaches(page, "the box online", "document.getElementById('box').textContent === 'online'")).toBe(true);

    // Cameras: listed as buttons; a click plays one.
    await pageReaches(page, "the camera button", "document.querySelector('[data-camera=room]')");
    await page.pointer("[data-camera=room]", "down");
    await page.pointer("[data-camera=room]", "up");
    const stats = await pageReaches<{ frameWidth: number }>(page, "the picture", "window.theaViewer && window.theaViewer.stats().then((s) => s.framesDecoded > 10 && s)");
    expect(stats.frameWidth).toBe(640);
    expect(await page.evaluate("document.getElementById('state').textContent")).toBe("connected");

    // Talk-back: the microphone stays muted until the doctor holds the button (or the space bar).
    expect(await page.evaluate("[document.getElementById('talk').hidden, window.theaViewer.microphone.enabled]")).toEqual([false, false]);
    await page.pointer("#talk", "down");
    expect(await page.evaluate("window.theaViewer.microphone.enabled")).toBe(true);
    await page.pointer("#talk", "up");
    expect(await page.evaluate("window.theaViewer.microphone.enabled")).toBe(false);
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [{ talking: true }] } });

    // Readings: the oximeter's SpO2 appears in its row.
    const reading = await pageReaches<string>(page, "an SpO2 reading", "document.querySelector('[data-peripheral=oximeter] .value')?.textContent.includes('spo2') && document.querySelector('[data-peripheral=oximeter] .value').textContent");
    expect(reading).toMatch(/spo2 \d+ %/);

    // PTZ: hold ▶ (pan right), then the arrow key ← (pan left) twice; the simulated head moves.
    await pageReaches(page, "the PTZ panel", "!document.getElementById('ptz-panel').hidden");
    await page.pointer("[data-move=right]", "down");
    await page.pointer("[data-move=right]", "up");
    await agent.waitForLog('"command":"ptz.stop"');
    expect((await command("ptz.position")).result).toMatchObject({ pan: 100 });
    await page.press("ArrowLeft");
    await page.press("ArrowLeft");
    await eventually(page, "the head to pan back", () => command("ptz.position"), (answer) => answer.result.pan === -100);

    // Closing the tab ends the session and stops the camera's pipeline.
    const closed = agent.waitForLog("viewing session closed");
    await page.close();
    await closed;
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [], cameras: [{ state: "idle", viewers: 0 }] } });
  });

  it("plays a camera's stethoscope on its own, and lets the doctor switch between it and the room", async () => {
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      extraYaml: [
        "media: { loopbackOnly: true }",
        "cameras:",
        "  - { id: exam, source: { type: test }, width: 320, height: 240, audio: { source: { type: test } }, clinicalAudio: { source: { type: test, wave: heartbeat, frequencyHz: 40 } } }",
      ].join("\n"),
    });
    fixture.cleanup(() => agent.stop());
    await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
    const broker = encodeURIComponent(`ws://127.0.0.1:${chrome.server.port}/mqtt`);
    const page = await chrome.browser.open(chrome.server.url(`/?broker=${broker}&device=${agent.deviceId}&camera=exam`));
    fixture.cleanup(() => page.close());
    await pageReaches(page, "the sound switch", "!document.getElementById('sound').hidden");
    // Its own element, fed straight from the stethoscope's track (not the room's), muted at first.
    const sound = `(() => {
      const element = document.getElementById("stethoscope");
      const [track] = element.srcObject ? element.srcObject.getAudioTracks() : [];
      return { track: track === window.theaViewer.stethoscope, stethoscopeMuted: element.muted, videoMuted: document.getElementById("video").muted,
        pressed: [...document.querySelectorAll("[data-sound]")].map((b) => b.dataset.sound + ":" + b.getAttribute("aria-pressed")), label: document.getElementById("sound-now").textContent };
    })()`;
    expect(await page.evaluate(sound)).toEqual({ track: true, stethoscopeMuted: true, videoMuted: true, pressed: ["room:true", "stethoscope:false"], label: "stethoscope muted" });
    await page.pointer("[data-sound=stethoscope]", "down");
    await page.pointer("[data-sound=stethoscope]", "up");
    expect(await page.evaluate(sound)).toEqual({ track: true, stethoscopeMuted: false, videoMuted: true, pressed: ["room:false", "stethoscope:true"], label: "hearing the stethoscope (room muted)" });
    await pageReaches(page, "the stethoscope playing", "!document.getElementById('stethoscope').paused && window.theaViewer.stethoscope.muted === false");
    await page.pointer("[data-sound=room]", "down");
    await page.pointer("[data-sound=room]", "up");
    expect(await page.evaluate(sound)).toMatchObject({ stethoscopeMuted: true, videoMuted: false, pressed: ["room:true", "stethoscope:false"] });
  });

  it("says plainly when the box cannot be reached", async () => {
    const broker = encodeURIComponent(`ws://127.0.0.1:${chrome.server.port}/mqtt`);
    const page = await chrome.browser.open(chrome.server.url(`/?broker=${broker}&device=no-such-box`));
    fixture.cleanup(() => page.close());
    const error = await pageReaches<string>(page, "an error", "document.getElementById('error').textContent");
    expect(error).toMatch(/cannot reach the box: media.sessions: no answer/);
  });
});
