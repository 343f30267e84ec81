/**
 * The media service: the configured cameras and the viewing sessions on them. Sessions are
 * created by `webrtc.offer` and end by `webrtc.close`, ICE failure or timeout; cameras start and
 * stop with their viewers (camera.ts). A camera's pipeline failing is an event for operators.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { CameraConfig } from "../../config/schema.ts";
import type { AgentContext } from "../context.ts";
import { messageOf, TheaError } from "../errors.ts";
import type { EventLog } from "../events.ts";
import type { Logger } from "../log.ts";
import type { IncomingMessage, MqttSession } from "../mqtt/session.ts";
import type { DeviceTopics } from "../mqtt/topics.ts";
import { Camera, type CameraStatus } from "./camera.ts";
import { icePolicy, type IcePolicy } from "./icePolicy.ts";
import { HARDWARE_H264_ENCODERS } from "./pipeline.ts";
import { ViewerSession, type IceCandidateInit, type ViewerSessionInfo } from "./viewerSession.ts";
import type { Consultations } from "../consultations.ts";

/** Long enough for a cold camera to start (a USB camera can take seconds), short of the command timeout. */
const SNAPSHOT_TIMEOUT_MS = 10_000;

export interface MediaServiceOptions {
  ctx: AgentContext;
  session: MqttSession;
  topics: DeviceTopics;
  events: EventLog;
}

export class MediaService {
  readonly #options: MediaServiceOptions;
  readonly #log: Logger;
  readonly #cameras: Map<string, Camera>;
  readonly #sessions = new Map<string, ViewerSession>();
  readonly #ice: IcePolicy;
  readonly #onMessage = (message: IncomingMessage) => {
    const viewerId = this.#options.topics.viewerIdOfGone(message.topic);
    if (viewerId !== undefined) void this.#viewerGone(viewerId);
  };
  #elements: Promise<ReadonlySet<string>> | undefined;
  readonly #idleWaiters = new Set<() => void>();

  constructor(options: MediaServiceOptions) {
    const { ctx } = options;
    this.#options = options;
    this.#log = ctx.log.child({ ns: "media" });
    this.#ice = icePolicy(ctx.config.media);
    this.#cameras = new Map(ctx.config.cameras.map((config) => [config.id, this.#makeCamera(config)]));
  }

  start(): void {
    this.#options.session.on("message", this.#onMessage);
    this.#options.session.subscribe(this.#options.topics.viewerGoneFilter);
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
      log: this.#options.ctx.log,
    });
    camera.on("failed", (reason) => this.#options.events.record("camera.failed", { camera: camera.id, reason }));
    return camera;
  }

  async stop(): Promise<void> {
    this.#options.session.off("message", this.#onMessage);
    await Promise.all([...this.#sessions.values()].map((session) => session.close("agent stopping")));
    await Promise.all([...this.#cameras.values()].map((camera) => camera.stop()));
  }

  /** `viewerId` names the viewer's MQTT client; its last will on viewerGone(viewerId) ends the session. */
  async offer(cameraId: string, sdp: string, viewerId?: string): Promise<{ sessionId: string; sdp: string }> {
    const camera = this.#camera(cameraId);
    const session = new ViewerSession({
      camera,
      ice: this.#ice,
      connectTimeoutMs: this.#options.ctx.config.media.sessionTimeoutSec * 1000,
      answerGatherMs: this.#options.ctx.config.media.answerGatherMs,
      viewerId,
      log: this.#log,
    });
    this.#sessions.set(session.id, session);
    session.on("closed", () => this.#sessionEnded(session.id));
    session.on("candidate", (candidate) => {
      void this.#options.session.publish(this.#options.topics.webrtcCandidate(session.id), JSON.stringify(candidate), { qos: 1 });
    });
    try {
      const answer = await session.answer(sdp);
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

  /** The consultations (viewer sessions open now) as the services that restart see them (consultations.ts). */
  readonly consultations: Consultations = {
    live: () => this.#sessions.size,
    onceIdle: (idle) => {
      this.#idleWaiters.add(idle);
      return () => this.#idleWaiters.delete(idle);
    },
  };

  #sessionEnded(sessionId: string): void {
    this.#sessions.delete(sessionId);
    if (this.#sessions.size > 0) return;
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
