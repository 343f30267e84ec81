/**
 * The media service: the configured cameras and the viewing sessions on them. Sessions are
 * created by `webrtc.offer` and end by `webrtc.close`, ICE failure or timeout; cameras start and
 * stop with their viewers (camera.ts: a pipeline supervisor and a fan-out). A camera's pipeline
 * failing is an event for operators.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import type { CameraConfig } from "../../config/schema.ts";
import type { AgentContext } from "../core/context.ts";
import { messageOf, TheaError } from "../core/errors.ts";
import type { EventLog } from "../outbox/events.ts";
import type { Logger } from "../../lib/log.ts";
import type { IncomingMessage, BrokerConnection } from "../mqtt/connection.ts";
import { publishJson } from "../mqtt/publish.ts";
import type { Routes } from "../mqtt/routes.ts";
import type { DeviceTopics } from "../core/topics.ts";
import { Camera, type CameraStatus } from "./camera.ts";
import { icePolicy, type IcePolicy } from "./icePolicy.ts";
import { HeapRelease } from "./heapRelease.ts";
import { checkOfferShape } from "./offerShape.ts";
import { HARDWARE_H264_ENCODERS } from "./pipeline.ts";
import type { IceCandidateInit, ViewerSession, ViewerSessionInfo } from "./viewerSession.ts";
import type { Consultations } from "../core/consultations.ts";

/** Long enough for a cold camera to start (a USB camera can take seconds), short of the command timeout. */
const SNAPSHOT_TIMEOUT_MS = 10_000;

/** Offers are a few kB (a browser's, with its candidates, under 10 kB); this bounds the rest. */
export const MAX_OFFER_CHARS = 32 * 1024;

/**
 * A viewer's candidates, in its offer and trickled: one per interface, address family and kind
 * (host UDP and TCP, server-reflexive, relayed over UDP, TCP and TLS), under 20 for a dual-stack
 * laptop on a VPN. Each one is paired with each of the box's own and checked.
 */
export const MAX_REMOTE_CANDIDATES = 32;

/**
 * The viewing code, with werift (~35 MB resident): imported by the first offer, not at start, so a
 * box nobody watches does not carry it (docs/media.md, "At rest").
 */
type ViewerModule = typeof import("./viewerSession.ts");

export interface MediaServiceOptions {
  ctx: AgentContext;
  broker: BrokerConnection;
  /** Where viewers' last wills (`webrtc/viewers/+/gone`) come from. */
  routes: Routes;
  topics: DeviceTopics;
  events: EventLog;
  /** V8's collector, run once after the last viewer has gone (heapRelease.ts); absent, nothing runs. */
  collectGarbage?: (() => void) | undefined;
}

export class MediaService {
  readonly #options: MediaServiceOptions;
  readonly #log: Logger;
  readonly #cameras: Map<string, Camera>;
  readonly #sessions = new Map<string, ViewerSession>();
  readonly #ice: IcePolicy;
  readonly #heapRelease: HeapRelease;
  readonly #onMessage = (message: IncomingMessage) => {
    const viewerId = this.#options.topics.viewerIdOfGone(message.topic);
    if (viewerId !== undefined) void this.#viewerGone(viewerId);
  };
  #unroute: (() => void) | undefined;
  #elements: Promise<ReadonlySet<string>> | undefined;
  #viewerModule: Promise<ViewerModule> | undefined;
  readonly #idleWaiters = new Set<() => void>();
  /** Sessions that have connected and not ended: the consultations. */
  #connected = 0;

  constructor(options: MediaServiceOptions) {
    const { ctx } = options;
    this.#options = options;
    this.#log = ctx.log.child({ ns: "media" });
    this.#ice = icePolicy(ctx.config.media);
    this.#heapRelease = new HeapRelease({ collect: options.collectGarbage, log: this.#log });
    this.#cameras = new Map(ctx.config.cameras.map((config) => [config.id, this.#makeCamera(config)]));
  }

  start(): void {
    this.#unroute = this.#options.routes.route(this.#options.topics.viewerGoneFilter, this.#onMessage);
  }

  /**
   * Takes a new camera list without a restart (a remote config change). Cameras that are
   * removed or changed stop and are rebuilt; one that someone is watching is not touched, and the
   * change is refused with consultation-live instead (the config service then applies it by a
   * restart once the consultation is over).
   */
  async reconfigureCameras(cameras: readonly CameraConfig[]): Promise<void> {
    const wanted = new Map(cameras.map((config) => [config.id, config]));
    const going = [...this.#cameras.values()].filter((camera) => JSON.stringify(wanted.get(camera.id)) !== JSON.stringify(camera.config));
    const watched = going.filter((camera) => [...this.#sessions.values()].some((session) => session.cameraId === camera.id));
    if (watched.length > 0) {
      throw new TheaError("consultation-live", `camera ${watched.map((camera) => camera.id).join(", ")} is being watched; its change waits until the viewers leave`);
    }
    for (const camera of going) this.#cameras.delete(camera.id);
    await Promise.all(going.map((camera) => camera.stop()));
    for (const config of cameras) if (!this.#cameras.has(config.id)) this.#cameras.set(config.id, this.#makeCamera(config));
  }

  #makeCamera(config: CameraConfig): Camera {
    const camera = new Camera({
      config,
      keyframeMinIntervalMs: this.#options.ctx.config.media.keyframeMinIntervalMs,
      availableElements: () => (this.#elements ??= installedElements(HARDWARE_H264_ENCODERS)),
      // In the data directory: only the agent writes there, and the cache holds code the host runs.
      compileCacheDir: path.join(this.#options.ctx.config.dataDir, "compile-cache"),
      log: this.#options.ctx.log,
    });
    camera.on("failed", (reason) => this.#options.events.record("camera.failed", { camera: camera.id, reason }));
    return camera;
  }

  async stop(): Promise<void> {
    this.#unroute?.();
    await Promise.all([...this.#sessions.values()].map((session) => session.close("agent stopping")));
    await Promise.all([...this.#cameras.values()].map((camera) => camera.stop()));
    this.#heapRelease.cancel();
  }

  /**
   * `viewerId` names the viewer's MQTT client; its last will on viewerGone(viewerId) ends the
   * session. The offer's shape and the camera's places are checked before werift sees it (it
   * opens sockets for what an offer asks), and the place is taken in the same turn as the session
   * is registered, after the only await before it (the viewing code's import).
   */
  async offer(cameraId: string, sdp: string, viewerId?: string): Promise<{ sessionId: string; sdp: string }> {
    const asked = this.#camera(cameraId);
    const shape = checkOfferShape(sdp, { maxChars: MAX_OFFER_CHARS, maxCandidates: MAX_REMOTE_CANDIDATES, maxAudioSections: asked.offer.clinicalAudio ? 2 : 1 });
    if (!shape.ok) throw new TheaError("invalid-params", shape.message);
    const { ViewerSession } = await this.#viewing();
    // After the import: the camera may have been reconfigured meanwhile.
    const camera = this.#camera(cameraId);
    this.#reservePlace(camera);
    const { media } = this.#options.ctx.config;
    const session = new ViewerSession({
      camera,
      ice: this.#ice,
      connectTimeoutMs: media.sessionTimeoutSec * 1000,
      answerGatherMs: media.answerGatherMs,
      viewerId,
      maxRemoteCandidates: MAX_REMOTE_CANDIDATES,
      log: this.#log,
    });
    this.#sessions.set(session.id, session);
    let connected = false;
    session.once("connected", () => {
      connected = true;
      this.#connected += 1;
    });
    session.on("closed", () => this.#sessionEnded(session.id, connected));
    session.on("candidate", (candidate) => {
      void publishJson(this.#options.broker, this.#options.topics.webrtcCandidate(session.id), candidate, { qos: 1 });
    });
    try {
      const answer = await session.answer(sdp, shape.candidates);
      return { sessionId: session.id, sdp: answer };
    } catch (error) {
      await session.close(`offer failed: ${messageOf(error)}`);
      throw error;
    }
  }

  async snapshot(cameraId: string): Promise<{ camera: string; contentType: "image/jpeg"; width: number; height: number; takenAt: string; jpegBase64: string }> {
    const picture = await this.#camera(cameraId).snapshot(SNAPSHOT_TIMEOUT_MS);
    return {
      camera: cameraId,
      contentType: "image/jpeg",
      width: picture.width,
      height: picture.height,
      takenAt: new Date().toISOString(),
      jpegBase64: picture.jpeg.toString("base64"),
    };
  }

  async candidate(sessionId: string, candidate: IceCandidateInit): Promise<void> {
    await this.#session(sessionId).addCandidate(candidate);
  }

  async close(sessionId: string): Promise<void> {
    await this.#session(sessionId).close("closed by the viewer");
  }

  /** Refuses a viewer beyond the camera's maxViewers, or one more connecting than media.maxConnectingPerCamera. */
  #reservePlace(camera: Camera): void {
    const onCamera = [...this.#sessions.values()].filter((session) => session.cameraId === camera.id);
    const { maxViewers } = camera.config;
    if (onCamera.length >= maxViewers) throw new TheaError("too-many-viewers", `camera ${camera.id} already has ${onCamera.length} viewers (maxViewers ${maxViewers})`);
    const connecting = onCamera.filter((session) => !session.connected).length;
    const { maxConnectingPerCamera } = this.#options.ctx.config.media;
    if (connecting >= maxConnectingPerCamera) {
      throw new TheaError("too-many-viewers", `camera ${camera.id} already has ${connecting} viewers connecting (media.maxConnectingPerCamera ${maxConnectingPerCamera})`);
    }
  }

  /**
   * The consultations (viewer sessions that have connected and are open now) as the services
   * that restart see them (consultations.ts). A session still connecting is none: otherwise an
   * offer every sessionTimeoutSec, never connected, would hold off updates for ever.
   */
  readonly consultations: Consultations = {
    live: () => this.#connected,
    onceIdle: (idle) => {
      this.#idleWaiters.add(idle);
      return () => this.#idleWaiters.delete(idle);
    },
  };

  /** The viewing code, imported once while sessions need it (a failed import is tried again). */
  #viewing(): Promise<ViewerModule> {
    this.#viewerModule ??= import("./viewerSession.ts").catch((error: unknown) => {
      this.#viewerModule = undefined;
      throw error;
    });
    return this.#viewerModule;
  }

  #sessionEnded(sessionId: string, wasConnected: boolean): void {
    this.#sessions.delete(sessionId);
    // Nothing of a viewer is kept once the last one has gone. Node's loader keeps the modules
    // (ES modules cannot be unloaded), so the next offer's import costs nothing.
    if (this.#sessions.size === 0) {
      this.#viewerModule = undefined;
      this.#heapRelease.schedule();
    }
    if (!wasConnected) return;
    this.#connected -= 1;
    if (this.#connected > 0) return;
    const waiters = [...this.#idleWaiters];
    this.#idleWaiters.clear();
    for (const idle of waiters) idle();
  }

  sessions(): { sessions: ViewerSessionInfo[]; cameras: CameraStatus[] } {
    return {
      sessions: [...this.#sessions.values()].map((session) => session.info()),
      cameras: [...this.#cameras.values()].map((camera) => camera.status()),
    };
  }

  async #viewerGone(viewerId: string): Promise<void> {
    const gone = [...this.#sessions.values()].filter((session) => session.viewerId === viewerId);
    await Promise.all(gone.map((session) => session.close("the viewer's MQTT client went away")));
  }

  #camera(cameraId: string): Camera {
    const camera = this.#cameras.get(cameraId);
    if (!camera) throw new TheaError("unknown-camera", `camera: no camera "${cameraId}" (configured: ${[...this.#cameras.keys()].join(", ") || "none"})`);
    return camera;
  }

  #session(sessionId: string): ViewerSession {
    const session = this.#sessions.get(sessionId);
    if (!session) throw new TheaError("unknown-session", `sessionId: no live session "${sessionId}"`);
    return session;
  }
}

/** Which of these GStreamer elements are installed (gst-inspect-1.0 answers without loading a pipeline). */
async function installedElements(names: readonly string[]): Promise<ReadonlySet<string>> {
  const run = promisify(execFile);
  const found = await Promise.all(
    names.map((name) =>
      run("gst-inspect-1.0", ["--exists", name]).then(
        () => name,
        () => undefined,
      ),
    ),
  );
  return new Set(found.filter((name) => name !== undefined));
}
