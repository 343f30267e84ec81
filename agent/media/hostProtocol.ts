/**
 * Messages between the agent and a pipeline host process (host.ts) over the fork IPC channel.
 * One host runs one pipeline; the agent owns when it starts and stops.
 */
import type { BitrateControl, VideoCodec } from "./pipeline.ts";

/** How each encoder of the pipeline takes its bitrate live (an encoder that cannot is left out). */
export type BitrateControls = Partial<Record<VideoCodec, BitrateControl>>;

export type HostCommand =
  | { type: "start"; launch: string; bitrates: BitrateControls }
  /** Ask one codec's encoder for a keyframe now (the request is sent to its payloader, downstream of it). */
  | { type: "keyframe"; codec: VideoCodec }
  /** Every encoder of the pipeline follows this rate. */
  | { type: "bitrate"; kbps: number }
  /** One JPEG of the current picture. */
  | { type: "snapshot"; id: number }
  /** Stop the pipeline; the host then ends itself. */
  | { type: "stop" };

export type HostEvent =
  | { type: "playing" }
  | { type: "error"; message: string; element: string }
  | { type: "warning"; message: string; element: string }
  | { type: "eos" }
  | { type: "snapshot"; id: number; jpegBase64: string; width: number; height: number };

/** A message on the IPC channel has a string `type`; both ends trust the other's shapes beyond it. */
export function isHostMessage<Message extends HostCommand | HostEvent>(value: unknown): value is Message {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}
