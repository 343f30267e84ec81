/**
 * The stethoscope track, measured where the doctor hears it: tones from a test source go through
 * the agent's real capture pipeline (audiotestsrc → Opus, generic, CBR) and werift to a headless
 * Chromium, which decodes them as any browser does; the page reads the decoded samples of the
 * received track (MediaStreamTrackProcessor) and the test compares their levels. Levels only,
 * never timing: a loaded machine changes when samples arrive, not how loud they are.
 */
import { describe, expect, it } from "vitest";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { pageReaches, useBrowser } from "../../helpers/browserFixture.ts";
import type { Page } from "../../helpers/chromium.ts";
import { openHarness, playStethoscope, resultOf } from "../../helpers/consoleServer.ts";

const fixture = useBroker();
const chrome = useBrowser(fixture);

/** The frequencies the issue names; 1 kHz is the reference level. */
const TONES_HZ = [20, 30, 50, 100, 200, 500, 1000, 2000] as const;

/** A small picture (the video branch is not what is measured) and the stethoscope's source. */
const camera = (id: string, source: string) =>
  `  - { id: ${id}, source: { type: test }, width: 160, height: 120, framerate: 5, audio: { source: { type: test } }, clinicalAudio: { source: ${source} } }`;

const CONFIG = [
  "media: { loopbackOnly: true }",
  "cameras:",
  ...TONES_HZ.map((hz) => camera(`tone${hz}`, `{ type: test, frequencyHz: ${hz} }`)),
  camera("heart", "{ type: test, wave: heartbeat, frequencyHz: 40 }"),
  "  - { id: plain, source: { type: test }, width: 160, height: 120, framerate: 5, audio: { source: { type: test } } }",
].join("\n");

async function startAgent(): Promise<(name: string, params?: object) => Promise<unknown>> {
  const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, extraYaml: CONFIG });
  fixture.cleanup(() => agent.stop());
  await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
  return async (name, params = {}) => (await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/${name}`, JSON.stringify(params), { timeoutMs: 30_000 })).body;
}

/** A harness page whose viewer's signalling goes to the agent; the answers it got are kept. */
async function viewerPage(command: (name: string, params?: object) => Promise<unknown>, answers: string[] = []): Promise<Page> {
  const page = await openHarness(chrome.browser, chrome.server, async (name, params) => {
    const result = resultOf(await command(name, params));
    if (name === "webrtc.offer") answers.push((result as { sdp: string }).sdp);
    return result;
  });
  fixture.cleanup(() => page.close());
  return page;
}

/** Watches `cameraId` with its stethoscope track, and waits until that track's sound arrives. */
async function watchStethoscope(page: Page, cameraId: string): Promise<void> {
  await playStethoscope(page, cameraId);
  await pageReaches(page, "the stethoscope track unmuted (its packets arriving)", "window.viewer.stethoscope.muted === false");
}

/**
 * The decoded samples' RMS level in `windowMs` windows, in dBFS, over `seconds` of the stethoscope
 * track, after `skipSeconds` (the decoder's and jitter buffer's start).
 */
function windowLevels(page: Page, seconds: number, skipSeconds: number, windowMs = 10): Promise<number[]> {
  return page.evaluate<number[]>(`(async () => {
    const reader = new MediaStreamTrackProcessor({ track: window.viewer.stethoscope }).readable.getReader();
    const levels = [];
    let skipped = 0, sum = 0, count = 0, rate = 48000;
    try {
      while (levels.length < ${(seconds * 1000) / windowMs}) {
        const { value: data, done } = await reader.read();
        if (done) break;
        rate = data.sampleRate;
        const samples = new Float32Array(data.numberOfFrames);
        data.copyTo(samples, { planeIndex: 0, format: "f32-planar" });
        data.close();
        for (const sample of samples) {
          if (skipped < ${skipSeconds} * rate) { skipped += 1; continue; }
          sum += sample * sample;
          count += 1;
          if (count === (rate * ${windowMs}) / 1000) {
            levels.push(10 * Math.log10(sum / count + 1e-20));
            sum = 0;
            count = 0;
          }
        }
      }
    } finally {
      reader.releaseLock();
    }
    return levels;
  })()`);
}

/**
 * Each heartbeat's level: its loudest 10 ms window (a burst is 100 ms, so several windows lie
 * wholly inside it wherever they fall). The loudest window, not the burst's energy: a receiver's
 * jitter buffer that stretches or squeezes a burst in time (NetEq's accelerate and expand, on a
 * loaded machine) changes its length, not its amplitude. A window 20 dB under the loudest of all
 * is quiet; more than 50 ms of quiet ends a beat.
 */
function loudestPerBeat(levels: readonly number[]): number[] {
  const threshold = Math.max(...levels) - 20;
  const loudest: number[] = [];
  let current: number | undefined;
  let quiet = 0;
  for (const level of levels) {
    if (level >= threshold) {
      current = Math.max(current ?? level, level);
      quiet = 0;
    } else if (current !== undefined && ++quiet > 5) {
      loudest.push(current);
      current = undefined;
    }
  }
  return loudest;
}

/**
 * Medians of consecutive groups of `size` (the last, shorter group left out). A median, because
 * the receiver's jitter buffer may stretch or squeeze a single beat on a loaded machine (NetEq's
 * accelerate and expand); a gain control moves every beat.
 */
function groupMedians(values: readonly number[], size: number): number[] {
  const medians: number[] = [];
  for (let at = 0; at + size <= values.length; at += size) {
    const sorted = values.slice(at, at + size).sort((a, b) => a - b);
    medians.push(((sorted[size / 2 - 1] ?? Number.NaN) + (sorted[size / 2] ?? Number.NaN)) / 2);
  }
  return medians;
}

describe("clinical audio: the stethoscope track", () => {
  it("is its own Opus track, labelled, mono, constant bitrate, beside the room's sound", async () => {
    const command = await startAgent();
    const answers: string[] = [];
    const page = await viewerPage(command, answers);
    await watchStethoscope(page, "tone1000");
    const [answer = ""] = answers;
    const sections = answer.split(/\r\n(?=m=)/).slice(1);
    expect(sections.map((section) => section.split(" ")[0])).toEqual(["m=video", "m=audio", "m=audio"]);
    const [, room = "", stethoscope = ""] = sections;
    expect(stethoscope).toMatch(/^a=msid:thea-stethoscope stethoscope$/m);
    expect(stethoscope).toMatch(/^a=sendonly$/m);
    expect(stethoscope).toMatch(/^a=fmtp:\d+ minptime=10;useinbandfec=0;stereo=0;sprop-stereo=0;cbr=1;maxaveragebitrate=96000$/m);
    expect(room).not.toMatch(/stethoscope/);
    const received = await page.evaluate<{ codec: string; channels: number }>(`(async () => {
      const report = await window.viewer.pc.getStats(window.viewer.stethoscope);
      const inbound = [...report.values()].find((entry) => entry.type === "inbound-rtp");
      const codec = report.get(inbound.codecId);
      return { codec: codec.mimeType, channels: codec.channels };
    })()`);
    expect(received).toEqual({ codec: "audio/opus", channels: 2 }); // Opus's RTP name always says 2 (RFC 7587 §7)
    expect(await command("media.sessions")).toMatchObject({
      result: { cameras: expect.arrayContaining([expect.objectContaining({ id: "tone1000", clinicalAudio: true }), expect.objectContaining({ id: "plain", clinicalAudio: false })]) },
    });
    await page.evaluate("window.viewer.close()");
  });

  it("refuses a second audio section to a camera without a stethoscope, before any socket is opened", async () => {
    const command = await startAgent();
    const page = await viewerPage(command);
    const asked = page.evaluate(`watch({
      video: document.getElementById("video"),
      camera: "plain",
      request: (name, params) => theaRequest(JSON.stringify({ name, params })),
      clinical: true,
    })`);
    await expect(asked).rejects.toThrow(/invalid-params: sdp: more than 1 audio section\(s\)/);
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [], cameras: expect.arrayContaining([expect.objectContaining({ id: "plain", state: "idle" })]) } });
  });

  it("keeps 30 Hz to 2 kHz within ±3 dB of 1 kHz, and 20 Hz within ±6 dB, through Opus, werift and Chromium", { timeout: 240_000 }, async () => {
    const command = await startAgent();
    const levels = new Map<number, number>();
    for (const hz of TONES_HZ) {
      const page = await viewerPage(command);
      await watchStethoscope(page, `tone${hz}`);
      // 100 ms windows hold whole cycles of every tone here (2 of 20 Hz), so each is the tone's
      // level wherever it starts; the median of two seconds' worth passes over a window the
      // receiver's jitter buffer concealed or stretched on a loaded machine.
      const [median = Number.NaN] = groupMedians(await windowLevels(page, 2, 1, 100), 20);
      levels.set(hz, median);
      await page.evaluate("window.viewer.close()");
      await page.close();
    }
    const reference = levels.get(1000) ?? Number.NaN;
    const response = Object.fromEntries(TONES_HZ.map((hz) => [hz, Math.round(((levels.get(hz) ?? Number.NaN) - reference) * 10) / 10]));
    console.log(`stethoscope response relative to 1 kHz (dB): ${JSON.stringify(response)}; 1 kHz at ${reference.toFixed(1)} dBFS`);
    // The source is a sine at 0.25 of full scale: −15 dBFS RMS; the path neither boosts nor cuts it much.
    expect(reference).toBeGreaterThan(-18);
    expect(reference).toBeLessThan(-12);
    const outside = TONES_HZ.filter((hz) => !(Math.abs(response[hz] ?? Number.NaN) <= (hz === 20 ? 6 : 3))).map((hz) => `${hz} Hz: ${response[hz]} dB`);
    expect(outside).toEqual([]);
  });

  it("keeps a 40 Hz heartbeat train's level within 1 dB over 60 s (no gain control fading it)", { timeout: 180_000 }, async () => {
    const command = await startAgent();
    const page = await viewerPage(command);
    await watchStethoscope(page, "heart");
    const beats = loudestPerBeat(await windowLevels(page, 60, 1));
    // 1.2 beats a second for 60 s; one at either edge may be cut off.
    expect(beats.length).toBeGreaterThanOrEqual(70);
    // A beat is a 40 Hz sine at half of full scale; its loudest 10 ms window (0.4 of a cycle
    // around the crest) is −8.1 dBFS as sent. A gain stage anywhere (even one that settled before
    // the first beat) moves this.
    const [level = Number.NaN] = groupMedians(beats, Math.floor(beats.length / 2) * 2);
    console.log(`heartbeat level inside a beat: ${level.toFixed(2)} dBFS (sent at -8.1)`);
    expect(level).toBeGreaterThan(-9.6);
    expect(level).toBeLessThan(-6.6);
    // The train's level in 5 s steps (the median of 6 beats each), against its first 5 s: a gain
    // control (AGC, a compressor) moves every beat, a jitter-buffer glitch one or two.
    const [first = Number.NaN, ...later] = groupMedians(beats, 6);
    const drift = later.map((step) => Math.round((step - first) * 100) / 100);
    const each = beats.map((beat) => Math.round((beat - first) * 100) / 100);
    console.log(`heartbeat train, 5 s steps against the first (dB): ${JSON.stringify(drift)}; single beats from ${Math.min(...each)} to ${Math.max(...each)} over ${beats.length}`);
    const jitter = await page.evaluate<object>(`(async () => {
      const report = await window.viewer.pc.getStats(window.viewer.stethoscope);
      const inbound = [...report.values()].find((entry) => entry.type === "inbound-rtp");
      return { packetsLost: inbound.packetsLost, concealedSamples: inbound.concealedSamples, removedForAcceleration: inbound.removedSamplesForAcceleration, insertedForDeceleration: inbound.insertedSamplesForDeceleration };
    })()`);
    console.log(`the receiver's jitter buffer meanwhile: ${JSON.stringify(jitter)}`);
    expect(drift.filter((db) => Math.abs(db) > 1)).toEqual([]);
    await page.evaluate("window.viewer.close()");
  });
});
