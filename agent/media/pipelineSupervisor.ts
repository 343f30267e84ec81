/**
 * The pipeline of one camera, supervised: launched only while it is wanted (a viewer, or a
 * snapshot in progress), so an idle box costs no CPU; relaunched with a second encoder when a
 * viewer needs the other codec (the picture is read once; see videoPipeline); restarted with
 * backoff after a failure while it is still wanted; stopped when nobody wants it. Knows nothing of
 * viewers beyond which codecs they take: their packets go to `onPacket` (fanOut.ts).
 */
import { existsSync } from "node:fs";
import { EventEmitter } from "node:events";
import type { CameraConfig } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { ReconnectBackoff } from "../../lib/backoff.ts";
import { TheaError } from "../core/errors.ts";
import type { BitrateControls } from "./hostProtocol.ts";
import { cameraPipeline, chooseEncoder, type EncoderChoice, type VideoCodec } from "./pipeline.ts";
import { PipelineProcess, type PipelineProcessEvents, type Snapshot } from "./pipelineProcess.ts";
import { RtpInput, type PacketHandler, type RtpStream } from "./rtpInput.ts";

export type PipelineState = "idle" | "starting" | "playing" | "restarting";

/** What the supervisor uses of a pipeline process (pipelineProcess.ts; tests pass a fake). */
export interface SupervisedPipeline {
  on<K extends keyof PipelineProcessEvents>(event: K, listener: (...args: PipelineProcessEvents[K]) => void): unknown;
  start(launch: string, bitrates: BitrateControls): void;
  stop(): Promise<void>;
  requestKeyframe(codec: VideoCodec): void;
  setBitrate(kbps: number): void;
  snapshot(timeoutMs: number): Promise<Snapshot>;
}

/** Where the pipeline's RTP comes in (rtpInput.ts; tests pass a fake). */
export type PipelineInput = Pick<RtpInput, "port" | "close">;

export interface PipelineSupervisorEvents {
  playing: [];
  failed: [message: string];
}

export interface PipelineSupervisorOptions {
  config: CameraConfig;
  /** Names of the GStreamer elements installed (for encoder choice), looked up once. */
  availableElements: () => Promise<ReadonlySet<string>>;
  /** The codecs the viewers take now; none means no viewer wants the pipeline. */
  viewerCodecs: () => readonly VideoCodec[];
  /** The bitrate the encode is to run at (fanOut.ts decides it), applied to each new pipeline. */
  bitrateKbps: () => number;
  /** Every RTP packet of the pipeline. */
  onPacket: PacketHandler;
  log: Logger;
  /** A new pipeline process (default: a PipelineProcess, with its compile cache). */
  newPipeline: () => SupervisedPipeline;
  /** Opens the loopback sockets the pipeline sends to (default: RtpInput.open). */
  openInput?: (options: { streams: readonly RtpStream[]; onPacket: PacketHandler; log: Logger }) => Promise<PipelineInput>;
}

/** The default pipeline factory: a pipeline host process, with Node's compile cache in `compileCacheDir`. */
export function pipelineProcesses(log: Logger, compileCacheDir: string | undefined): () => SupervisedPipeline {
  return () => new PipelineProcess(log, { compileCacheDir });
}

export class PipelineSupervisor extends EventEmitter<PipelineSupervisorEvents> {
  readonly #options: PipelineSupervisorOptions;
  readonly #log: Logger;
  readonly #backoff = new ReconnectBackoff({ initialDelayMs: 500, maxDelayMs: 30_000, stableAfterMs: 30_000 });
  #pipeline: SupervisedPipeline | undefined;
  #input: PipelineInput | undefined;
  /** The encodes of the pipeline (of the next one, while it starts), by codec. */
  readonly #encoders = new Map<VideoCodec, EncoderChoice>();
  #state: PipelineState = "idle";
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  /** Snapshots in progress; like viewers, they keep the pipeline up. */
  #snapshots = 0;

  constructor(options: PipelineSupervisorOptions) {
    super();
    this.#options = options;
    this.#log = options.log;
  }

  get state(): PipelineState {
    return this.#state;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** The encodes, the camera's own codec first while it runs. */
  encoders(): EncoderChoice[] {
    return [...this.#encoders.values()];
  }

  /** Whether nothing wants the pipeline: no viewer, no snapshot. */
  get idle(): boolean {
    return this.#options.viewerCodecs().length === 0 && this.#snapshots === 0;
  }

  /** A viewer of `codec` came: the first one starts the pipeline, the first of a new codec relaunches it. */
  async want(codec: VideoCodec, stillWanted: () => boolean): Promise<void> {
    if (this.#state === "idle") return this.#start();
    if (this.#encoders.has(codec)) return;
    const encoder = chooseEncoder(this.#options.config, await this.#options.availableElements(), codec);
    // While we looked up the elements, another viewer of this codec may have added its encoder,
    // or this viewer may have gone (closed, or the camera stopped).
    if (this.#encoders.has(codec) || !stillWanted()) return;
    this.#encoders.set(codec, encoder);
    this.#log.info({ codec }, "a viewer needs another codec: relaunching the pipeline with a second encoder");
    await this.#relaunch();
  }

  /** A JPEG of the current picture. An idle pipeline is started for it, and stopped again after. */
  async snapshot(timeoutMs: number): Promise<Snapshot> {
    const id = this.#options.config.id;
    this.#snapshots += 1;
    try {
      if (this.#state === "idle") await this.#start();
      await this.#playing(timeoutMs);
      const pipeline = this.#pipeline;
      if (!pipeline) throw new TheaError("media-failed", `camera ${id}: ${this.#lastError ?? "not running"}`);
      return await pipeline.snapshot(timeoutMs).catch((error: unknown) => {
        throw new TheaError("media-failed", `camera ${id}: ${error instanceof Error ? error.message : String(error)}`);
      });
    } finally {
      this.#snapshots -= 1;
      if (this.idle) await this.stop();
    }
  }

  /** Whether a pipeline is there to take a keyframe request for `codec`. */
  encodes(codec: VideoCodec): boolean {
    return this.#pipeline !== undefined && this.#encoders.has(codec);
  }

  forceKeyframe(codec: VideoCodec): void {
    this.#pipeline?.requestKeyframe(codec);
  }

  setBitrate(kbps: number): void {
    this.#pipeline?.setBitrate(kbps);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#restartTimer);
    this.#encoders.clear();
    this.#snapshots = 0;
    this.#state = "idle";
    const pipeline = this.#pipeline;
    this.#pipeline = undefined;
    this.#input?.close();
    this.#input = undefined;
    await pipeline?.stop();
  }

  /** Resolves once the pipeline plays; rejects if it fails or takes longer than `timeoutMs`. */
  #playing(timeoutMs: number): Promise<void> {
    if (this.#state === "playing") return Promise.resolve();
    const id = this.#options.config.id;
    return new Promise((resolve, reject) => {
      const settle = (error?: TheaError) => {
        clearTimeout(timer);
        this.off("playing", onPlaying);
        this.off("failed", onFailed);
        if (error) reject(error);
        else resolve();
      };
      const onPlaying = () => settle();
      const onFailed = (message: string) => settle(new TheaError("media-failed", `camera ${id}: ${message}`));
      const timer = setTimeout(() => settle(new TheaError("media-failed", `camera ${id} did not start within ${timeoutMs} ms`)), timeoutMs);
      this.on("playing", onPlaying);
      this.on("failed", onFailed);
    });
  }

  async #start(): Promise<void> {
    const { config } = this.#options;
    this.#state = "starting";
    const available = await this.#options.availableElements();
    // The camera's own codec always; the other when a viewer that needs it is why we start.
    for (const codec of new Set([config.codec, ...this.#options.viewerCodecs()])) {
      this.#encoders.set(codec, chooseEncoder(config, available, codec));
    }
    const open = this.#options.openInput ?? ((options) => RtpInput.open(options));
    const input = await open({
      // A socket for each codec either way (cheap): a second encoder needs no new input.
      streams: ["h264", "vp8", ...(config.audio ? (["audio"] as const) : []), ...(config.clinicalAudio ? (["clinical"] as const) : [])],
      onPacket: this.#options.onPacket,
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
    const { config } = this.#options;
    const input = this.#input;
    const branches = [...this.#encoders.values()].flatMap((encoder) => {
      const port = input?.port(encoder.codec);
      return port === undefined ? [] : [{ encoder, port }];
    });
    if (!input || branches.length === 0) return;
    // gstreamer-superficial stops polling the bus when a pipeline never leaves NULL, so a missing
    // device would only show as a start timeout; checked here, it is reported by name.
    if (config.source.type === "v4l2" && !existsSync(config.source.device)) {
      this.#failed(undefined, `camera device ${config.source.device} is not there (unplugged?)`);
      return;
    }
    const pipeline = this.#options.newPipeline();
    this.#pipeline = pipeline;
    pipeline.on("playing", () => {
      this.#state = "playing";
      this.#backoff.connected(Date.now());
      this.#log.info({ encoders: branches.map((branch) => branch.encoder.element), bitrateKbps: this.#options.bitrateKbps() }, "pipeline playing");
      this.emit("playing");
    });
    pipeline.on("warning", (message) => this.#log.warn({ warning: message }, "pipeline warning"));
    pipeline.on("failed", (message) => this.#failed(pipeline, message));
    const launch = cameraPipeline(config, branches, input.port("audio"), input.port("clinical"));
    this.#log.debug({ launch }, "starting pipeline");
    const bitrates: BitrateControls = {};
    for (const { encoder } of branches) if (encoder.bitrate) bitrates[encoder.codec] = encoder.bitrate;
    pipeline.start(launch, bitrates);
    const bitrateKbps = this.#options.bitrateKbps();
    if (bitrateKbps !== config.bitrateKbps.start) pipeline.setBitrate(bitrateKbps);
  }

  #failed(pipeline: SupervisedPipeline | undefined, message: string): void {
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
