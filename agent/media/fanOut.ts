/**
 * The viewers of one camera: who is attached and to which codec, each RTP packet of the shared
 * encode handed to the viewers it is for, and their feedback merged, because they share encoders.
 * Keyframe requests go through one KeyframeGate per codec (PLIs from every viewer of a codec count
 * against the same interval); bandwidth figures become one bitrate, the lowest of them clamped to
 * the camera's range, since the slowest viewer's path decides what all of them can get.
 * Knows nothing of pipelines: what it asks of the encode goes through `EncodeControls`.
 */
import type { Logger } from "../../lib/log.ts";
import { TheaError } from "../core/errors.ts";
import { KeyframeGate, type KeyframeReason } from "./keyframeGate.ts";
import type { VideoCodec } from "./pipeline.ts";
import type { RtpStream } from "./rtpInput.ts";
import type { PacketSink } from "./watched.ts";

/** What the fan-out asks of the encode (pipelineSupervisor.ts, wired by camera.ts). */
export interface EncodeControls {
  /** Whether a pipeline is there to take a keyframe request for `codec` now. */
  encodes(codec: VideoCodec): boolean;
  forceKeyframe(codec: VideoCodec): void;
  setBitrate(kbps: number): void;
}

export interface FanOutOptions {
  cameraId: string;
  maxViewers: number;
  /** Where the encode starts, and the range it moves in. */
  bitrateKbps: { start: number; min: number; max: number };
  keyframeMinIntervalMs: number;
  encode: EncodeControls;
  log: Logger;
  /** The clock of the keyframe gates (tests pass their own). */
  now?: () => number;
}

/** Bitrate changes smaller than this fraction are not worth an encoder reconfiguration (except to reach min or max). */
const BITRATE_DEADBAND = 0.05;

export class FanOut {
  readonly #options: FanOutOptions;
  readonly #now: () => number;
  readonly #viewers = new Map<string, { sink: PacketSink; codec: VideoCodec }>();
  readonly #bandwidth = new Map<string, number>();
  readonly #keyframes = new Map<VideoCodec, KeyframeGate>();
  #bitrateKbps: number;
  #keyframesForced = 0;

  constructor(options: FanOutOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#bitrateKbps = options.bitrateKbps.start;
  }

  get size(): number {
    return this.#viewers.size;
  }

  /** The bitrate the encode was last set to (the start figure until viewers report). */
  get bitrateKbps(): number {
    return this.#bitrateKbps;
  }

  get keyframesForced(): number {
    return this.#keyframesForced;
  }

  has(viewerId: string): boolean {
    return this.#viewers.has(viewerId);
  }

  /** The codecs the viewers take now. */
  codecs(): VideoCodec[] {
    return [...new Set([...this.#viewers.values()].map((viewer) => viewer.codec))];
  }

  /** Takes a viewer's place; throws too-many-viewers beyond maxViewers. */
  add(viewerId: string, sink: PacketSink, codec: VideoCodec): void {
    const { cameraId, maxViewers } = this.#options;
    if (this.#viewers.size >= maxViewers) {
      throw new TheaError("too-many-viewers", `camera ${cameraId} already has ${this.#viewers.size} viewers (maxViewers)`);
    }
    this.#viewers.set(viewerId, { sink, codec });
  }

  /** Removes a viewer (false if it was not there); the others' figures then decide the bitrate. */
  remove(viewerId: string): boolean {
    if (!this.#viewers.delete(viewerId)) return false;
    this.#bandwidth.delete(viewerId);
    if (this.#viewers.size > 0) this.#applyBandwidth();
    return true;
  }

  clear(): void {
    this.#viewers.clear();
    this.#bandwidth.clear();
  }

  /** One packet of the shared encode: sound to every viewer, video to the viewers of its codec. */
  deliver(stream: RtpStream, packet: Buffer, newSource: boolean): void {
    for (const viewer of this.#viewers.values()) {
      if (stream === "audio" || stream === "clinical") viewer.sink(stream, packet, newSource);
      else if (stream === viewer.codec) viewer.sink("video", packet, newSource);
    }
  }

  /** A viewer's keyframe request, forced for its codec when the gate allows (keyframeGate.ts). */
  keyframe(codec: VideoCodec, reason: KeyframeReason): void {
    let gate = this.#keyframes.get(codec);
    if (!gate) this.#keyframes.set(codec, (gate = new KeyframeGate(this.#options.keyframeMinIntervalMs)));
    const { encode, log } = this.#options;
    if (!encode.encodes(codec) || !gate.allow(this.#now(), reason)) {
      log.debug({ codec, reason }, "keyframe not forced");
      return;
    }
    log.debug({ codec, reason }, "keyframe forced");
    this.#keyframesForced += 1;
    encode.forceKeyframe(codec);
  }

  /** The keyframe request of an attached viewer, for the codec it takes. */
  viewerKeyframe(viewerId: string, reason: KeyframeReason): void {
    const viewer = this.#viewers.get(viewerId);
    if (viewer) this.keyframe(viewer.codec, reason);
  }

  /** A viewer's estimate of what its path carries (kbit/s); the shared encode follows the lowest. */
  bandwidth(viewerId: string, kbps: number): void {
    if (!this.#viewers.has(viewerId) || !Number.isFinite(kbps) || kbps <= 0) return;
    this.#bandwidth.set(viewerId, kbps);
    this.#applyBandwidth();
  }

  #applyBandwidth(): void {
    const { min, max } = this.#options.bitrateKbps;
    const lowest = Math.min(...this.#bandwidth.values());
    if (!Number.isFinite(lowest)) return;
    const target = Math.round(Math.min(max, Math.max(min, lowest)));
    const atBound = target === min || target === max;
    if (target === this.#bitrateKbps || (!atBound && Math.abs(target - this.#bitrateKbps) < this.#bitrateKbps * BITRATE_DEADBAND)) return;
    this.#bitrateKbps = target;
    this.#options.encode.setBitrate(target);
  }
}
