/**
 * One camera: its pipeline, supervised (pipelineSupervisor.ts: runs only while watched, restarted
 * with backoff, relaunched with a second encoder), and its viewers (fanOut.ts: who takes which
 * codec, each packet to them, their keyframe requests and bandwidth figures merged). This file only
 * wires the two together, and is what a viewing session watches (WatchedCamera, watched.ts).
 */
import { EventEmitter } from "node:events";
import type { CameraConfig } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { FanOut } from "./fanOut.ts";
import type { KeyframeReason } from "./keyframeGate.ts";
import type { VideoCodec } from "./pipeline.ts";
import type { Snapshot } from "./pipelineProcess.ts";
import { pipelineProcesses, PipelineSupervisor, type PipelineState, type SupervisedPipeline } from "./pipelineSupervisor.ts";
import { Talkback } from "./talkback.ts";
import type { CameraOffer, PacketSink, WatchedCamera } from "./watched.ts";

export type CameraState = PipelineState;

export interface CameraStatus {
  id: string;
  state: CameraState;
  codec: VideoCodec;
  encoder: string | undefined;
  /** The codecs being encoded now: the camera's own, and the other while a viewer needs it. */
  encoding: VideoCodec[];
  viewers: number;
  bitrateKbps: number;
  keyframesForced: number;
  restarts: number;
  lastError: string | undefined;
  /** Whether a viewer may talk to the clinic (talkback configured), and who does now. */
  talkback: { talker: string | undefined; lastError: string | undefined } | undefined;
  /** Whether the camera carries a stethoscope track (a viewer may ask for it: docs/media.md). */
  clinicalAudio: boolean;
}

export interface CameraEvents {
  failed: [message: string];
}

export interface CameraOptions {
  config: CameraConfig;
  keyframeMinIntervalMs: number;
  /** Names of the GStreamer elements installed (for encoder choice), looked up once. */
  availableElements: () => Promise<ReadonlySet<string>>;
  /** Node's compile cache for the pipeline processes (see PipelineProcessOptions). */
  compileCacheDir?: string | undefined;
  /** A new pipeline process (default: a pipeline host process); tests pass a fake. */
  newPipeline?: () => SupervisedPipeline;
  log: Logger;
}

export class Camera extends EventEmitter<CameraEvents> implements WatchedCamera {
  readonly id: string;
  /** The settings it was built with (a changed camera is rebuilt, never altered). */
  readonly config: CameraConfig;
  readonly offer: CameraOffer;
  /** The camera's talk-back (doctor → clinic speaker), when configured. */
  readonly speaker: Talkback | undefined;
  readonly #fanOut: FanOut;
  readonly #supervisor: PipelineSupervisor;

  constructor(options: CameraOptions) {
    super();
    const { config } = options;
    this.id = config.id;
    this.config = config;
    this.offer = {
      codec: config.codec,
      audio: config.audio !== undefined,
      clinicalAudio: config.clinicalAudio && { bitrateKbps: config.clinicalAudio.bitrateKbps },
      bitrateKbps: { min: config.bitrateKbps.min, max: config.bitrateKbps.max },
    };
    const log = options.log.child({ ns: "media:camera", camera: config.id });
    this.speaker = config.talkback ? new Talkback(config.talkback, log) : undefined;
    const supervisor: PipelineSupervisor = new PipelineSupervisor({
      config,
      availableElements: options.availableElements,
      viewerCodecs: () => fanOut.codecs(),
      bitrateKbps: () => fanOut.bitrateKbps,
      onPacket: (stream, packet, newSource) => fanOut.deliver(stream, packet, newSource),
      newPipeline: options.newPipeline ?? pipelineProcesses(log, options.compileCacheDir),
      log,
    });
    const fanOut = new FanOut({
      cameraId: config.id,
      maxViewers: config.maxViewers,
      bitrateKbps: config.bitrateKbps,
      keyframeMinIntervalMs: options.keyframeMinIntervalMs,
      encode: supervisor,
      log,
    });
    supervisor.on("failed", (message) => this.emit("failed", message));
    this.#supervisor = supervisor;
    this.#fanOut = fanOut;
  }

  get codec(): VideoCodec {
    return this.config.codec;
  }

  status(): CameraStatus {
    const encoders = this.#supervisor.encoders();
    return {
      id: this.id,
      state: this.#supervisor.state,
      codec: this.codec,
      encoder: encoders.find((encoder) => encoder.codec === this.codec)?.element,
      encoding: encoders.map((encoder) => encoder.codec),
      viewers: this.#fanOut.size,
      bitrateKbps: this.#fanOut.bitrateKbps,
      keyframesForced: this.#fanOut.keyframesForced,
      restarts: this.#supervisor.restarts,
      lastError: this.#supervisor.lastError,
      talkback: this.speaker?.status(),
      clinicalAudio: this.offer.clinicalAudio !== undefined,
    };
  }

  /** Adds a viewer of `codec`; the first one starts the pipeline, the first of a new codec relaunches it. */
  async attach(viewerId: string, sink: PacketSink, codec: VideoCodec = this.codec): Promise<void> {
    this.#fanOut.add(viewerId, sink, codec);
    await this.#supervisor.want(codec, () => this.#fanOut.has(viewerId));
  }

  /** Removes a viewer; the last one leaving stops the pipeline. */
  async detach(viewerId: string): Promise<void> {
    if (!this.#fanOut.remove(viewerId)) return;
    if (this.#supervisor.idle) await this.#supervisor.stop();
  }

  keyframe(viewerId: string, reason: KeyframeReason): void {
    this.#fanOut.viewerKeyframe(viewerId, reason);
  }

  bandwidth(viewerId: string, kbps: number): void {
    this.#fanOut.bandwidth(viewerId, kbps);
  }

  encodingKbps(): number {
    return this.#fanOut.bitrateKbps;
  }

  /** A JPEG of the current picture. An idle camera is started for it, and stopped again after. */
  snapshot(timeoutMs: number): Promise<Snapshot> {
    return this.#supervisor.snapshot(timeoutMs);
  }

  async stop(): Promise<void> {
    this.#fanOut.clear();
    await this.#supervisor.stop();
  }
}
