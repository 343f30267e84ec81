/**
 * One error type for the agent, with a code that crosses the MQTT boundary unchanged.
 * Codes are strings because they travel in JSON error responses; they are grouped by prefix-free
 * families (see the comments) so an operator's tooling can switch on them.
 */
export const ErrorCodes = [
  // Requests from a remote party
  "invalid-json",
  "invalid-params",
  "unknown-command",
  "payload-too-large",
  "busy",
  "timeout",
  "expired",
  "rate-limited",
  "retained-command",
  // A repeated request id whose first answer the agent no longer has (too long to keep, or cut short by a restart)
  "repeated-request",
  // The box is in use: a consultation would be cut
  "consultation-live",
  // Peripherals a command is addressed to
  "unknown-peripheral",
  "unsupported-command",
  "device-unavailable",
  "device-timeout",
  "device-rejected",
  // Cameras and viewing sessions
  "unknown-camera",
  "unknown-session",
  "too-many-viewers",
  "media-failed",
  // Configuration
  "config-invalid",
  "config-unreadable",
  // Anything unexpected inside the agent; the message is logged, the remote party sees the code
  "internal-error",
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class TheaError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TheaError";
    this.code = code;
  }
}

export function isTheaError(value: unknown): value is TheaError {
  return value instanceof TheaError;
}

/** A plain message for anything thrown (lib/messageOf.ts, where drivers and tools find it too). */
export { messageOf } from "../../lib/messageOf.ts";
