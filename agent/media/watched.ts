/**
 * What a viewing session sees of the camera it watches, and nothing more: what the camera offers
 * (the tracks to negotiate), a place among its viewers with a sink for its packets, and the two
 * kinds of feedback a viewer has for the shared encode (a keyframe, a bandwidth figure).
 * viewerSession.ts imports only these types; camera.ts implements them.
 *
 * The stethoscope (clinical audio) is folded into `WatchedCamera`: it is one more track of the
 * same encode, reaching the viewer through the same sink (kind "clinical"), so all a session needs
 * is to know it is there and at what bitrate to describe it. Talk-back is a second, smaller
 * interface (`Speaker`): it runs the other way (the doctor's voice to the clinic), has its own
 * pipeline and its own rule (one talker at a time), and shares nothing with the fan-out; a
 * camera without a speaker simply has none.
 */
import type { KeyframeReason } from "./keyframeGate.ts";
import type { VideoCodec } from "./pipeline.ts";
import type { MediaKind } from "./rtpInput.ts";

/**
 * Receives every RTP packet of the shared encode meant for one viewer. `newSource` is set on the
 * first packet from a restarted pipeline (see PacketHandler in rtpInput.ts).
 */
export type PacketSink = (kind: MediaKind, packet: Buffer, newSource: boolean) => void;

/** The tracks a camera can send, as a session negotiates them. */
export interface CameraOffer {
  /** The camera's own video codec (a viewer that cannot take it gets the other). */
  codec: VideoCodec;
  /** Whether the room's sound is sent. */
  audio: boolean;
  /** The stethoscope's track, when the camera carries one: its Opus bitrate for the answer. */
  clinicalAudio: { bitrateKbps: number } | undefined;
  /** The range the encode's bitrate moves in; a viewer's estimate stays within it. */
  bitrateKbps: { min: number; max: number };
}

export interface WatchedCamera {
  readonly id: string;
  readonly offer: CameraOffer;
  /** The clinic's speaker, when talk-back is configured. */
  readonly speaker: Speaker | undefined;
  /** Takes a viewer's place and starts sending it `codec`; throws too-many-viewers when full. */
  attach(viewerId: string, sink: PacketSink, codec: VideoCodec): Promise<void>;
  /** Gives the place up; nothing more reaches the sink. */
  detach(viewerId: string): Promise<void>;
  /** The viewer needs a keyframe (it just connected, or lost its picture). */
  keyframe(viewerId: string, reason: KeyframeReason): void;
  /** The viewer's estimate of what its path carries, in kbit/s. */
  bandwidth(viewerId: string, kbps: number): void;
  /** What the shared encode runs at now, in kbit/s (where a new viewer's estimate starts). */
  encodingKbps(): number;
}

/** The clinic's speaker: one viewer's voice at a time (talkback.ts). */
export interface Speaker {
  /** Takes the speaker for `sessionId`; false when another session has it. */
  claim(sessionId: string): Promise<boolean>;
  /** One RTP packet of the holder's voice; others' are dropped. */
  play(sessionId: string, packet: Buffer): void;
  release(sessionId: string): Promise<void>;
}
