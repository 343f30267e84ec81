/**
 * One camera: its pipeline runs only while someone watches (an idle box costs no CPU), one encode
 * per codec is shared by every viewer of that codec, and a pipeline that fails is restarted with
 * backoff while viewers remain. Viewers get each RTP packet of their codec from the pipeline;
 * keyframe requests and bandwidth figures from them are merged here, because they share encoders.
 * A viewer that cannot decode the camera's codec gets the other one: the pipeline is relaunched
 * with a second encoder (the picture is read once; see videoPipeline) until the camera goes idle.
 */
import { existsSync } from "node:fs";
import { EventEmitter } from "node:events";
import type { CameraConfig } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { TheaError } from "../core/errors.ts";
import { ReconnectBackoff } from "../../lib/backoff.ts";
import type { BitrateControls } from "./hostProtocol.ts";
import { cameraPipeline, chooseEncoder, type EncoderChoice, type VideoCodec } from "./pipeline.ts";
import { KeyframeGate, type KeyframeReason } from "./keyframeGate.ts";
import { Talkback } from "./talkback.ts";
import { PipelineProcess, type Snapshot } from "./pipelineProcess.ts";
import { RtpInput, type MediaKind } from "./rtpInput.ts";

export type CameraState = "idle" | "starting" | "playing" | "restarting";

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
  playing: [];
  failed: [message: string];
}

/** Receives every RTP packet of the shared encode (see PacketHandler in rtpInput.ts). */
export type PacketSink = (kind: MediaKind, packet: Buffer, newSource: boolean) => void;

export interface CameraOptions {
  config: CameraConfig;
  keyframeMinIntervalMs: number;
  /** Names of the GStreamer elements installed (for encoder choice), looked up once. */
  availableElements: () => Promise<ReadonlySet<string>>;
  /** Node's compile cache for the pipeline processes (see PipelineProcessOptions). */
  compileCacheDir?: string | undefined;
  log: Logger;
}

/** Bitrate changes smaller than this fraction are not worth an encoder reconfiguration (except to reach min or max). */
const BITRATE_DEADBAND = 0.05;

export class Camera extends EventEmitter<CameraEvents> {
  readonly id: string;
  /** The camera's talk-back (doctor → clinic speaker), when configured. */
  readonly talkback: Talkback | undefined;
  readonly #options: CameraOptions;
  readonly #log: Logger;
  readonly #viewers = new Map<string, { sink: PacketSink; codec: VideoCodec }>();
  readonly #bandwidth = new Map<string, number>();
  readonly #backoff = new ReconnectBackoff({ initialDelayMs: 500, maxDelayMs: 30_000, stableAfterMs: 30_000 });
  #pipeline: PipelineProcess | undefined;
  #input: RtpInput | undefined;
  /** The encodes of the pipeline (of the next one, while it starts), by codec. */
  readonly #encoders = new Map<VideoCodec, EncoderChoice>();
  #state: CameraState = "idle";
  #bitrateKbps: number;
  readonly #keyframes = new Map<VideoCodec, KeyframeGate>();
  #keyframesForced = 0;
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  /** Snapshots in progress; like viewers, they keep the pipeline up. */
  #snapshots = 0;

  constructor(options: CameraOptions) {
    super();
    this.id = options.config.id;
    this.#options = options;
    this.#log = options.log.child({ ns: "media:camera", camera: options.config.id });
    this.#bitrateKbps = options.config.bitrateKbps.start;
    this.talkback = options.config.talkback ? new Talkback(options.config.talkback, this.#log) : undefined;
  }

  get codec(): VideoCodec {
    return this.#options.config.codec;
  }

  /** The settings it was built with (a changed camera is rebuilt, never altered). */
  get config(): CameraConfig {
    return this.#options.config;
  }

  get bitrateRange(): { min: number; max: number } {
    return this.#options.config.bitrateKbps;
  }

  get hasAudio(): boolean {
    return this.#options.config.audio !== undefined;
  }

  /** Whether the camera carries a stethoscope's sound as a second audio track. */
  get hasClinicalAudio(): boolean {
    return this.#options.config.clinicalAudio !== undefined;
  }

  status(): CameraStatus {
    return {
      id: this.id,
      state: this.#state,
      codec: this.codec,
      encoder: this.#encoders.get(this.codec)?.element,
      encoding: [...this.#encoders.keys()],
      viewers: this.#viewers.size,
      bitrateKbps: this.#bitrateKbps,
      keyframesForced: this.#keyframesForced,
      restarts: this.#restarts,
      lastError: this.#lastError,
      talkback: this.talkback?.status(),
      clinicalAudio: this.hasClinicalAudio,
    };
  }

  /** Adds a viewer of `codec`; the first one starts the pipeline, the first of a new codec relaunches it. */
  async attach(viewerId: string, sink: PacketSink, codec: VideoCodec = this.codec): Promise<void> {
    if (this.#viewers.size >= this.#options.config.maxViewers) {
      throw new TheaError("too-many-viewers", `camera ${this.id} already has ${this.#viewers.size} viewers (maxViewers)`);
    }
    this.#viewers.set(viewerId, { sink, codec });
    if (this.#state === "idle") return this.#start();
    if (this.#encoders.has(codec)) return;
    const encoder = chooseEncoder(this.#options.config, await this.#options.availableElements(), codec);
    // While we looked up the elements, another viewer of this codec may have added its encoder,
    // or this viewer may have gone (closed, or the camera stopped).
    if (this.#encoders.has(codec) || !this.#viewers.has(viewerId)) return;
    this.#encoders.set(codec, encoder);
    this.#log.info({ codec }, "a viewer needs another codec: relaunching the pipeline with a second encoder");
    await this.#relaunch();
  }

  /** Removes a viewer; the last one leaving stops the pipeline. */
  async detach(viewerId: string): Promise<void> {
    if (!this.#viewers.delete(viewerId)) return;
    this.#bandwidth.delete(viewerId);
    if (this.#idle) await this.stop();
    else this.#applyBandwidth();
  }

  /** A JPEG of the current picture. An idle camera is started for it, and stopped again after. */
  async snapshot(timeoutMs: number): Promise<Snapshot> {
    this.#snapshots += 1;
    try {
      if (this.#state === "idle") await this.#start();
      await this.#playing(timeoutMs);
      const pipeline = this.#pipeline;
      if (!pipeline) throw new TheaError("media-failed", `camera ${this.id}: ${this.#lastError ?? "not running"}`);
      return await pipeline.snapshot(timeoutMs).catch((error: unknown) => {
        throw new TheaError("media-failed", `camera ${this.id}: ${error instanceof Error ? error.message : String(error)}`);
      });
    } finally {
      this.#snapshots -= 1;
      if (this.#idle) await this.stop();
    }
  }

  get #idle(): boolean {
    return this.#viewers.size === 0 && this.#snapshots === 0;
  }

  /** Resolves once the pipeline plays; rejects if it fails or takes longer than `timeoutMs`. */
  #playing(timeoutMs: number): Promise<void> {
    if (this.#state === "playing") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const settle = (error?: TheaError) => {
        clearTimeout(timer);
        this.off("playing", onPlaying);
        this.off("failed", onFailed);
        if (error) reject(error);
        else resolve();
      };
      const onPlaying = () => settle();
      const onFailed = (message: string) => settle(new TheaError("media-failed", `camera ${this.id}: ${message}`));
      const timer = setTimeout(() => settle(new TheaError("media-failed", `camera ${this.id} did not start within ${timeoutMs} ms`)), timeoutMs);
      this.on("playing", onPlaying);
      this.on("failed", onFailed);
    });
  }

  /** A viewer lost its picture (PLI); forced at most once per keyframeMinIntervalMs per codec. */
  requestKeyframe(codec: VideoCodec = this.codec): void {
    this.#forceKeyframe(codec, "picture-loss");
  }

  /** A viewer just connected: it shows nothing until a keyframe, so one is forced now. */
  viewerConnected(codec: VideoCodec = this.codec): void {
    this.#forceKeyframe(codec, "new-viewer");
  }

  #forceKeyframe(codec: VideoCodec, reason: KeyframeReason): void {
    let gate = this.#keyframes.get(codec);
    if (!gate) this.#keyframes.set(codec, (gate = new KeyframeGate(this.#options.keyframeMinIntervalMs)));
    if (!this.#pipeline || !this.#encoders.has(codec) || !gate.allow(Date.now(), reason)) {
      this.#log.debug({ codec, reason, state: this.#state }, "keyframe not forced");
      return;
    }
    this.#log.debug({ codec, reason, state: this.#state }, "keyframe forced");
    this.#keyframesForced += 1;
    this.#pipeline.requestKeyframe(codec);
  }

  /** A viewer's estimate of what its path carries (kbit/s); the shared encode follows the lowest. */
  reportBandwidth(viewerId: string, kbps: number): void {
    if (!this.#viewers.has(viewerId) || !Number.isFinite(kbps) || kbps <= 0) return;
    this.#bandwidth.set(viewerId, kbps);
    this.#applyBandwidth();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#restartTimer);
    this.#viewers.clear();
    this.#bandwidth.clear();
    this.#encoders.clear();
    this.#snapshots = 0;
    this.#state = "idle";
    const pipeline = this.#pipeline;
    this.#pipeline = undefined;
    this.#input?.close();
    this.#input = undefined;
    await pipeline?.stop();
  }

  #applyBandwidth(): void {
    const { min, max } = this.#options.config.bitrateKbps;
    const lowest = Math.min(...this.#bandwidth.values());
    if (!Number.isFinite(lowest)) return;
    const target = Math.round(Math.min(max, Math.max(min, lowest)));
    const atBound = target === min || target === max;
    if (target === this.#bitrateKbps || (!atBound && Math.abs(target - this.#bitrateKbps) < this.#bitrateKbps * BITRATE_DEADBAND)) return;
    this.#bitrateKbps = target;
    this.#pipeline?.setBitrate(target);
  }

  async #start(): Promise<void> {
    this.#state = "starting";
    const available = await this.#options.availableElements();
    // The camera's own codec always; the other when a viewer that needs it is why we start.
    for (const codec of new Set([this.codec, ...[...this.#viewers.values()].map((viewer) => viewer.codec)])) {
      this.#encoders.set(codec, chooseEncoder(this.#options.config, available, codec));
    }
    const input = await RtpInput.open({
      // A socket for each codec either way (cheap): a second encoder needs no new input.
      streams: ["h264", "vp8", ...(this.hasAudio ? (["audio"] as const) : []), ...(this.hasClinicalAudio ? (["clinical"] as const) : [])],
      onPacket: (stream, packet, newSource) => {
        for (const viewer of this.#viewers.values()) {
          if (stream === "audio" || stream === "clinical") viewer.sink(stream, packet, newSource);
          else if (stream === viewer.codec) viewer.sink("video", packet, newSource);
        }
      },
      log: this.#log,
    });
    if (this.#state !== "starting") {
      input.close(); // every viewer left while we were getting ready
      return;
    }
    this.#input = input;
    this.#launch();
  }

  /** A new pipeline for a changed set of encoders; viewers splice its new streams on (newSource). */
  async #relaunch(): Promise<void> {
    const pipeline = this.#pipeline;
    if (!pipeline || this.#state === "restarting") return; // a restart under way takes the new set
    this.#pipeline = undefined;
    this.#state = "starting";
    await pipeline.stop();
    if (this.#state === "starting" && !this.#pipeline) this.#launch();
  }

  #launch(): void {
    const input = this.#input;
    const branches = [...this.#encoders.values()].flatMap((encoder) => {
      const port = input?.port(encoder.codec);
      return port === undefined ? [] : [{ encoder, port }];
    });
    if (!input || branches.length === 0) return;
    // gstreamer-superficial stops polling the bus when a pipeline never leaves NULL, so a missing
    // device would only show as a start timeout; checked here, it is reported by name.
    const { source } = this.#options.config;
    if (source.type === "v4l2" && !existsSync(source.device)) {
      this.#failed(undefined, `camera device ${source.device} is not there (unplugged?)`);
      return;
    }
    const pipeline = new PipelineProcess(this.#log, { compileCacheDir: this.#options.compileCacheDir });
    this.#pipeline = pipeline;
    pipeline.on("playing", () => {
      this.#state = "playing";
      this.#backoff.connected(Date.now());
      this.#log.info({ encoders: branches.map((branch) => branch.encoder.element), bitrateKbps: this.#bitrateKbps }, "pipeline playing");
      this.emit("playing");
    });
    pipeline.on("warning", (message) => this.#log.warn({ warning: message }, "pipeline warning"));
    pipeline.on("failed", (message) => this.#failed(pipeline, message));
    const launch = cameraPipeline(this.#options.config, branches, input.port("audio"), input.port("clinical"));
    this.#log.debug({ launch }, "starting pipeline");
    const bitrates: BitrateControls = {};
    for (const { encoder } of branches) if (encoder.bitrate) bitrates[encoder.codec] = encoder.bitrate;
    pipeline.start(launch, bitrates);
    if (this.#bitrateKbps !== this.#options.config.bitrateKbps.start) pipeline.setBitrate(this.#bitrateKbps);
  }

  #failed(pipeline: PipelineProcess | undefined, message: string): void {
    if (this.#pipeline !== pipeline) return;
    this.#pipeline = undefined;
    this.#lastError = message;
    this.#state = "restarting";
    const delay = this.#backoff.nextDelayMs(Date.now());
    this.#log.error({ err: message, retryInMs: delay }, "pipeline failed");
    this.emit("failed", message);
    this.#restartTimer = setTimeout(() => {
      if (this.#state !== "restarting") return;
      this.#restarts += 1;
      this.#launch();
    }, delay);
  }
}
