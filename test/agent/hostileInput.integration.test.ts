/**
 * A real agent (camera, PTZ head, cuff and oximeter configured) on a real mosquitto, fed
 * property-generated hostile payloads on every remote entry point: each command, WebRTC offers
 * (mutated SDP) and trickled candidates on a live session, desired config and desired updates.
 * Every command request must get a well-formed answer with a named error code (never
 * `internal-error`), every desired message must end in a report, and the agent must come out the
 * other end running, answering, without an unhandled rejection in its log.
 */
import { generateKeyPairSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import fc from "fast-check";
import type { RTCPeerConnection } from "werift";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestSchema, signManifest } from "../../agent/update/manifest.ts";
import { AgentProcess } from "../helpers/agentProcess.ts";
import { loopbackPeer } from "../helpers/loopbackViewer.ts";
import { Mosquitto } from "../helpers/mosquitto.ts";
import { TestClient } from "../helpers/mqttClient.ts";
import { TopicLog } from "../helpers/topicLog.ts";

const COMMANDS = [
  "ping", "health.now", "peripherals.list", "peripherals.rescan", "media.sessions", "camera.snapshot",
  "webrtc.offer", "webrtc.candidate", "webrtc.close", "logs.tail", "diagnostics.collect", "system.reboot",
  "ptz.move", "ptz.stop", "ptz.goto", "ptz.zoom", "ptz.preset.set", "ptz.preset.recall", "ptz.position",
  "bp.start", "bp.stop", "bp.read",
] as const;

/** Valid requests to start mutating from (fields then replaced, dropped or joined by others). */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  "camera.snapshot": { camera: "cam1" },
  "webrtc.close": { sessionId: "7f9c2ba4-e88f-4e22-9e5e-4a1b7b9c1d2e" },
  "logs.tail": { lines: 10, level: "info" },
  "diagnostics.collect": { bundleId: "b", part: 1 },
  "system.reboot": { confirm: "0123456789abcdef" },
  "ptz.move": { peripheral: "ptz", direction: "up", speed: 8 },
  "ptz.goto": { peripheral: "ptz", pan: -1200, tilt: 300, speed: 12 },
  "ptz.zoom": { peripheral: "ptz", direction: "in", speed: 3 },
  "ptz.preset.set": { peripheral: "ptz", preset: 3 },
  "ptz.preset.recall": { peripheral: "ptz", preset: 3 },
  "bp.start": { peripheral: "cuff" },
};

const hostileKey = fc.oneof(fc.constantFrom("__proto__", "constructor", "peripheral", "camera", "sdp", "sessionId", "lines", "force", "confirm"), fc.string({ maxLength: 10 }));
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** One field of an example changed, dropped or added; as text, so `__proto__` stays a key. */
function nearValid(example: Record<string, unknown>): fc.Arbitrary<string> {
  return fc
    .record({ key: fc.oneof(fc.constantFrom(...Object.keys(example), "x"), hostileKey), value: fc.option(anyJson, { nil: undefined }) })
    .map(({ key, value }) => {
      const entries = Object.entries(example).filter(([name]) => name !== key);
      if (value !== undefined) entries.push([key, value]);
      return `{${entries.map(([name, inner]) => `${JSON.stringify(name)}:${JSON.stringify(inner)}`).join(",")}}`;
    });
}

const junk = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  anyJson.map((value) => Buffer.from(JSON.stringify(value))),
  fc.integer({ min: 33, max: 20_000 }).map((depth) => Buffer.from("[".repeat(depth) + "]".repeat(depth))),
);

/** Line-level damage to an SDP offer: lines dropped, repeated, cut short or replaced. */
function damagedSdp(sdp: string): fc.Arbitrary<string> {
  const lines = sdp.split("\r\n");
  const edit = fc.record({
    at: fc.nat({ max: lines.length - 1 }),
    how: fc.constantFrom("drop", "repeat", "cut", "replace", "huge-number"),
    text: fc.string({ maxLength: 40 }),
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    const result = [...lines];
    for (const { at, how, text } of edits) {
      const line = result[at] ?? "";
      if (how === "drop") result.splice(at, 1);
      else if (how === "repeat") result.splice(at, 0, line);
      else if (how === "cut") result[at] = line.slice(0, text.length);
      else if (how === "replace") result[at] = text;
      else result[at] = line.replace(/\d+/g, "99999999999999999999");
    }
    return result.join("\r\n");
  });
}

/** Samples are random per run; a failure names the seed, and THEA_FUZZ_SEED replays it. */
const SEED = Number(process.env.THEA_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const samplesOf = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number): T[] => fc.sample(arbitrary, { numRuns, seed: SEED });

let broker: Mosquitto;
let agent: AgentProcess;
let client: TestClient;
let offerSdp: string;
let signingKey: string;
let keyFile: string;
const sessionsToClose: RTCPeerConnection[] = [];

async function ask(name: string, payload: string | Buffer): Promise<{ ok: boolean; error?: { code: string; message: string } }> {
  const { body } = await client.request(`thea/v1/${agent.deviceId}/cmd/${name}`, payload, { timeoutMs: 40_000 });
  return body as { ok: boolean; error?: { code: string; message: string } };
}

function expectClearAnswer(name: string, answer: { ok: boolean; error?: { code: string; message: string } }): void {
  if (answer.ok) return;
  const what = `${name} (THEA_FUZZ_SEED=${SEED}): ${JSON.stringify(answer)}`;
  expect(answer.error?.code, what).toMatch(/^[a-z][a-z-]+$/);
  expect(answer.error?.code, what).not.toBe("internal-error");
  expect(answer.error?.message.length, name).toBeGreaterThan(0);
}

beforeAll(async () => {
  broker = await Mosquitto.start();
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  signingKey = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  keyFile = JSON.stringify(publicKey.export({ type: "spki", format: "pem" }).toString());
  client = await TestClient.connect(broker.url);
  agent = await AgentProcess.start({
    brokerUrl: broker.url,
    extraYaml: [
      "media: { loopbackOnly: true }",
      "cameras:",
      "  - { id: cam1, source: { type: test }, width: 320, height: 240, framerate: 15, codec: vp8 }",
      "peripherals:",
      "  - { id: ptz, driver: visca, port: /nonexistent/ptz }",
      "  - { id: cuff, driver: and-bp, port: /nonexistent/cuff }",
      "  - { id: oximeter, driver: nonin, port: /nonexistent/oximeter }",
      "update:",
      `  trustedKeys: [${keyFile}]`,
    ].join("\n"),
  });
  await agent.waitForLog("connected to broker", 30_000);
  // An offer as a viewer on this machine makes it: with its loopback candidate (the agent runs loopbackOnly).
  const viewer = loopbackPeer((pc) => {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
  });
  sessionsToClose.push(viewer);
  await viewer.setLocalDescription(await viewer.createOffer());
  offerSdp = viewer.localDescription?.sdp ?? "";
}, 60_000);

afterAll(async () => {
  await Promise.all(sessionsToClose.map((connection) => connection.close()));
  await client?.close();
  await agent?.stop();
  await broker?.stop();
});

describe("hostile requests to a running agent", () => {
  it("answers junk, near-valid and oversized parameters of every command with a clear error", async () => {
    for (const name of COMMANDS) {
      const payload = fc.oneof(junk, nearValid(EXAMPLES[name] ?? {}).map((text) => Buffer.from(text)));
      for (const sample of samplesOf(payload, 15)) expectClearAnswer(name, await ask(name, sample));
      expect(await ask(name, Buffer.alloc(300 * 1024, 0x20))).toMatchObject({ ok: false, error: { code: "payload-too-large" } });
    }
    // agent.restart with valid parameters restarts (that is its job): only shapes it must refuse.
    for (const sample of samplesOf(fc.oneof(junk, nearValid({ force: true, x: 1 }).map((text) => Buffer.from(text))), 20)) {
      const text = sample.toString();
      if (/^\s*\{\s*("force"\s*:\s*(true|false)\s*)?\}\s*$/.test(text) || text.trim() === "") continue;
      expectClearAnswer("agent.restart", await ask("agent.restart", sample));
    }
    expect(agent.running).toBe(true);
  }, 300_000);

  it("answers damaged SDP offers and hostile candidates on a live session without falling over", async () => {
    for (const sdp of samplesOf(damagedSdp(offerSdp), 40)) {
      const answer = await ask("webrtc.offer", JSON.stringify({ camera: "cam1", sdp }));
      expectClearAnswer("webrtc.offer", answer);
      const sessionId = (answer as { result?: { sessionId?: string } }).result?.sessionId;
      if (answer.ok && sessionId) expectClearAnswer("webrtc.close", await ask("webrtc.close", JSON.stringify({ sessionId })));
    }
    // Offers that failed half-way must not have kept a viewer's place.
    const { body: sessions } = await client.request(`thea/v1/${agent.deviceId}/cmd/media.sessions`, "{}");
    expect((sessions as { result: { sessions: unknown[] } }).result.sessions).toEqual([]);
    const live = (await ask("webrtc.offer", JSON.stringify({ camera: "cam1", sdp: offerSdp }))) as { ok: boolean; result?: { sessionId: string } };
    expect(live, JSON.stringify(live)).toMatchObject({ ok: true });
    const sessionId = live.result?.sessionId ?? "";
    const candidate = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom("candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", "candidate:x 1 tcp 1 ::1 65536 typ relay raddr 0.0.0.0 rport 0"),
      // Loopback or malformed addresses only: test traffic must never leave this machine.
      fc.tuple(fc.nat(), fc.nat(), fc.constantFrom("127.0.0.1", "127.9.9.9", "::1", "300.1.1.1", "127.0.0.1.5", "", "localhost"), fc.integer({ min: -5, max: 70_000 }), fc.constantFrom("host", "srflx", "relay", "bogus")).map(
        ([foundation, priority, ip, port, type]) => `candidate:${foundation} 1 udp ${priority} ${ip} ${port} typ ${type}`,
      ),
    );
    const candidates = fc.record({ candidate, sdpMid: fc.option(fc.string({ maxLength: 8 })), sdpMLineIndex: fc.option(fc.integer({ min: -1, max: 70 })) });
    for (const sample of samplesOf(candidates, 60)) {
      expectClearAnswer("webrtc.candidate", await ask("webrtc.candidate", JSON.stringify({ sessionId, candidate: sample })));
    }
    expectClearAnswer("webrtc.close", await ask("webrtc.close", JSON.stringify({ sessionId })));
    expect(agent.running).toBe(true);
  }, 300_000);

  it("reports every hostile desired config as refused and keeps running on the old one", async () => {
    const desired = `thea/v1/${agent.deviceId}/config/desired`;
    const reported = await TopicLog.open<{ version: number; lastError: { errors: string[] } | null }>(client, `thea/v1/${agent.deviceId}/config/reported`);
    const patches = fc.oneof(
      junk,
      nearValid({ version: 5, patch: { telemetry: { healthIntervalSec: 30 } } }).map((text) => Buffer.from(text)),
      fc.constantFrom(
        '{"version":7,"patch":{"log":{"__proto__":{"level":"trace"}}}}',
        '{"version":8,"patch":{"__proto__":{"mqtt":{"url":"mqtt://evil:1883"}}}}',
        '{"version":9,"config":{"mqtt":{"url":"mqtt://evil:1883"}}}',
        '{"version":10,"patch":{"dataDir":"/"}}',
      ).map((text) => Buffer.from(text)),
    );
    for (const sample of samplesOf(patches, 60)) await client.publish(desired, sample);
    // The service takes desired messages one at a time, in order: once this one is reported, all were.
    const barrier = Number.MAX_SAFE_INTEGER;
    await client.publish(desired, JSON.stringify({ version: barrier, patch: { telemetry: { healthIntervalSec: 45 } } }));
    const last = await reported.next((report) => report.version === barrier, 60_000);
    expect(last.lastError).toBeNull();
    const earlier = reported.messages.slice(0, -1);
    expect(earlier.every((report) => report.lastError === null || report.lastError.errors.every((error) => error.length > 0))).toBe(true);
    expect(JSON.stringify(reported.messages)).not.toContain("mqtt://evil");
    expect(agent.running).toBe(true);
  }, 120_000);

  it("refuses every hostile desired update without leaving the idle state", async () => {
    const desired = `thea/v1/${agent.deviceId}/update/desired`;
    const state = await TopicLog.open<{ state: string; version: string | null; result?: string; reason?: string }>(client, `thea/v1/${agent.deviceId}/update/state`);
    const manifest = manifestSchema.parse({ version: "0.0.1", size: 1000, sha256: "b".repeat(64), url: "https://updates.example.org/thea-0.0.1.tar.gz" });
    const signed = JSON.stringify(signManifest(manifest, signingKey));
    const manifests = fc.oneof(
      junk,
      nearValid(JSON.parse(signed) as Record<string, unknown>).map((text) => Buffer.from(text)),
      fc.constant(Buffer.from(signed.replace('"manifest":{', '"manifest":{"__proto__":{"allowDowngrade":true,"force":true},'))),
    );
    for (const sample of samplesOf(manifests, 60)) await client.publish(desired, sample);
    // Then a genuine manifest none of the above could have been made from: a downgrade, refused as
    // such. Desired updates are taken in order, so every one before it has been refused by then.
    const barrier = manifestSchema.parse({ ...manifest, version: "0.0.2-barrier", sha256: "c".repeat(64) });
    await client.publish(desired, JSON.stringify(signManifest(barrier, signingKey)));
    const refused = await state.next((update) => update.result === "downgrade" && update.version === "0.0.2-barrier", 20_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${agent.stdout.lines.filter((line) => /publish|"ns":"update"|"ns":"mqtt"/.test(line) && !line.includes("update refused")).slice(-12).join("\n")}`);
    });
    expect(refused.state).toBe("failed");
    expect(state.messages.every((update) => ["idle", "failed", "committed"].includes(update.state))).toBe(true);
    expect(agent.running).toBe(true);
  }, 120_000);

  it("comes out running and answering, with no unhandled fault in its log", async () => {
    expect(await ask("ping", "{}")).toMatchObject({ ok: true });
    const log = agent.stdout.text + agent.stderr.text;
    expect(log).not.toMatch(/uncaught exception|unhandled promise rejection|"level":(50|60).*"msg":"answering a command failed"/);
    const status = await readFile(`/proc/${agent.pid}/status`, "utf8");
    const rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
    expect(rssMb).toBeLessThan(1024);
  }, 30_000);
});
