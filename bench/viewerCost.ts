/**
 * What one viewer costs, part by part (the whole agent with real viewers is bench/media.ts):
 * printed, not asserted.
 *
 * 1. srtp: werift's SRTP protect of one 1,200-byte video packet, µs per packet and what that is
 *    per viewer at 2 Mbit/s (AES-128-CM/HMAC-SHA1-80 and AEAD-AES-128-GCM), for the werift
 *    installed here; says whether patches/werift-*-srtp-key-objects.patch is applied.
 * 2. send: the agent's per-packet path to one viewer in werift (parse, track, sender, SRTP) with
 *    the socket send left out, µs per packet.
 * 3. host: the pipeline host process running the 720p30 camera pipeline, RSS and CPU, run as
 *    TypeScript (agent/media/host.ts, development) and as JavaScript (its type-stripped copy, as
 *    a release runs it), the latter also with each set of V8 flags in VIEWER_HOST_FLAGS
 *    (";"-separated sets).
 * VIEWER_PARTS (srtp,send,host) runs only some of them.
 */
import { fork } from "node:child_process";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { chooseEncoder, videoPipeline } from "../agent/media/pipeline.ts";
import { configSchema } from "../config/schema.ts";
import { processFigures } from "./lib/station.ts";

const PARTS = new Set((process.env.VIEWER_PARTS ?? "srtp,send,host").split(","));
const PACKETS = Number(process.env.VIEWER_PACKETS ?? 50_000);
const HOST_SECONDS = Number(process.env.VIEWER_HOST_SECONDS ?? 15);
const HOST_FLAGS = (process.env.VIEWER_HOST_FLAGS ?? "--max-semi-space-size=1;--jitless;--max-old-space-size=16 --max-semi-space-size=1").split(";").filter(Boolean);
/** 2 Mbit/s in 1,200-byte payloads (rtph264pay's default MTU is 1,400 with headers). */
const PACKETS_PER_SECOND = 2_000_000 / 8 / 1200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Werift = typeof import("werift");

async function werift(): Promise<Werift> {
  return await import("werift");
}

/** Whether the installed werift carries the SRTP key-object patch (see patches/). */
async function patched(): Promise<boolean> {
  const bundle = createRequire(import.meta.url).resolve("werift").replace(/webrtc\/src\/index\.js$/, "index.mjs");
  return (await readFile(bundle, "utf8")).includes("this.srtpCipherKey");
}

function timeEach(count: number, work: (i: number) => void): number {
  for (let i = 0; i < Math.min(5000, count); i++) work(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) work(i);
  return Number(process.hrtime.bigint() - started) / 1000 / count;
}

function perViewer(us: number): string {
  return `${us.toFixed(2)} µs/packet = ${((us * PACKETS_PER_SECOND) / 1e4).toFixed(2)} % of a core per viewer at 2 Mbit/s`;
}

// --- 1. SRTP --------------------------------------------------------------------------------------
async function srtp(): Promise<void> {
  const { SrtpSession, RtpHeader, ProtectionProfileAes128CmHmacSha1_80, ProtectionProfileAeadAes128Gcm } = await werift();
  console.log(`werift SRTP protect, 1,200-byte payload, ${PACKETS} packets (key-object patch ${(await patched()) ? "applied" : "NOT applied"}):`);
  const payload = Buffer.alloc(1200, 7);
  for (const [name, profile, saltLength] of [
    ["AES-128-CM + HMAC-SHA1-80", ProtectionProfileAes128CmHmacSha1_80, 14],
    ["AEAD-AES-128-GCM", ProtectionProfileAeadAes128Gcm, 12],
  ] as const) {
    const key = Buffer.alloc(16, 1);
    const salt = Buffer.alloc(saltLength, 2);
    const session = new SrtpSession({ profile, keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt } });
    const header = new RtpHeader({ ssrc: 1234, payloadType: 96, marker: false });
    const us = timeEach(PACKETS, (i) => {
      header.sequenceNumber = i & 0xffff;
      session.encrypt(payload, header);
    });
    console.log(`  ${name}: ${perViewer(us)}`);
  }
}

// --- 2. the send path, socket left out ---------------------------------------------------------
async function send(): Promise<void> {
  const { RtpPacket, RtpHeader, MediaStreamTrack, SrtpSession, ProtectionProfileAes128CmHmacSha1_80 } = await werift();
  const raw = new RtpPacket(new RtpHeader({ ssrc: 99, payloadType: 96 }), Buffer.alloc(1200, 3)).serialize();
  const key = Buffer.alloc(16, 1);
  const salt = Buffer.alloc(14, 2);
  const session = new SrtpSession({ profile: ProtectionProfileAes128CmHmacSha1_80, keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt } });
  const track = new MediaStreamTrack({ kind: "video" });
  // What viewerSession.ts hands werift and what werift's sender then does, short of the socket.
  track.onReceiveRtp.subscribe((rtp) => {
    const sent = rtp.clone();
    session.encrypt(sent.payload, sent.header);
  });
  const parsed = timeEach(PACKETS, (i) => {
    raw.writeUInt16BE(i & 0xffff, 2);
    track.writeRtp(RtpPacket.deSerialize(raw));
  });
  const asBuffer = timeEach(PACKETS, (i) => {
    raw.writeUInt16BE(i & 0xffff, 2);
    track.writeRtp(raw);
  });
  console.log(`send path to one viewer without the socket (parse, track, sender's copy, SRTP), ${PACKETS} packets:`);
  console.log(`  parsed by the agent, then by werift: ${perViewer(parsed)}`);
  console.log(`  the datagram handed to werift as it came: ${perViewer(asBuffer)}`);
}

// --- 3. the pipeline host -----------------------------------------------------------------------
async function host(): Promise<void> {
  const camera = configSchema.parse({
    mqtt: { url: "mqtt://127.0.0.1" },
    cameras: [parseYaml("{ id: cam1, source: { type: test, pattern: ball }, width: 1280, height: 720, framerate: 30, bitrateKbps: { min: 2000, start: 2000, max: 2000 } }")],
  }).cameras[0];
  if (!camera) throw new Error("no camera");
  const launch = videoPipeline(camera, [{ encoder: chooseEncoder(camera, new Set()), port: 9 }]);
  const typescript = fileURLToPath(new URL("../agent/media/host.ts", import.meta.url));
  const javascript = await strippedHost();
  console.log(`pipeline host running the 720p30 H.264 pipeline, ${HOST_SECONDS} s windows:`);
  const runs: Array<[label: string, script: string, flags: string[]]> = [
    ["host.ts (development: Node strips the types)", typescript, []],
    ["host.js (type-stripped, as a release runs it)", javascript, []],
    ...HOST_FLAGS.map((flags): [string, string, string[]] => [`host.js ${flags}`, javascript, flags.split(" ")]),
  ];
  for (const [label, script, execArgv] of runs) {
    const child = fork(script, [], { execArgv, stdio: ["ignore", "ignore", "ignore", "ipc"], serialization: "json" });
    const playing = new Promise<void>((resolve) => child.on("message", (m: { type?: string }) => m.type === "playing" && resolve()));
    child.send({ type: "start", launch, bitrates: {} });
    await playing;
    await sleep(3000);
    const pid = child.pid ?? 0;
    const cpuBefore = await cpuSeconds(pid);
    await sleep(HOST_SECONDS * 1000);
    const cpu = (((await cpuSeconds(pid)) - cpuBefore) / HOST_SECONDS) * 100;
    const { rssMb } = await processFigures(pid);
    child.kill("SIGKILL");
    console.log(`  ${label}: RSS ${rssMb} MB, CPU ${cpu.toFixed(1)} %`);
  }
}

/** host.ts and what it imports, type-stripped into a scratch directory next to node_modules. */
async function strippedHost(): Promise<string> {
  const { stripTypeScriptTypes } = await import("node:module");
  const root = fileURLToPath(new URL("../", import.meta.url));
  const out = path.join(root, ".tmp", "viewerCost-host");
  await mkdir(path.join(out, "agent", "media"), { recursive: true });
  await writeFile(path.join(out, "package.json"), '{ "type": "module" }');
  await symlink(path.join(root, "node_modules"), path.join(out, "node_modules")).catch(() => undefined);
  for (const name of ["host", "hostProtocol", "pipeline"]) {
    const source = await readFile(path.join(root, "agent", "media", `${name}.ts`), "utf8");
    await writeFile(path.join(out, "agent", "media", `${name}.js`), stripTypeScriptTypes(source).replaceAll(/(from "\.[^"]*)\.ts"/g, '$1.js"'));
  }
  return path.join(out, "agent", "media", "host.js");
}

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

if (PARTS.has("srtp")) await srtp();
if (PARTS.has("send")) await send();
if (PARTS.has("host")) await host();
