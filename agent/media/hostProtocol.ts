/**
 * Messages between the agent and a pipeline host process (host.ts) over the fork IPC channel.
 * One host runs one pipeline; the agent owns when it starts and stops.
 */
import type { BitrateControl } from "./pipeline.ts";

export type HostCommand =
  | { type: "start"; launch: string; bitrate: BitrateControl | undefined }
  /** Ask the encoder for a keyframe now (the request is sent to the payloader, downstream of it). */
  | { type: "keyframe" }
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
