/**
 * Sony VISCA (camera command protocol, as in the BRC/SRG/EVI technical manuals): packets are
 * `header message… FF`. A command's header is 0x80 + camera address (1–7); a reply's is
 * 0x80 + (camera address << 4), so camera 1 answers with 0x90, camera 2 with 0xA0, and so on.
 * Pure encoding and decoding; no I/O.
 */
export const TERMINATOR = 0xff;

/** Replies (manual, "VISCA communication specifications"). */
export type ViscaReply =
  | { kind: "ack"; from: number; socket: number }
  | { kind: "completion"; from: number; socket: number; data: number[] }
  | { kind: "error"; from: number; socket: number; code: ViscaErrorCode }
  | { kind: "address-set"; cameras: number }
  | { kind: "other"; bytes: number[] };

export const VISCA_ERRORS = {
  0x01: "message length error",
  0x02: "syntax error",
  0x03: "command buffer full",
  0x04: "command cancelled",
  0x05: "no socket (to be cancelled)",
  0x41: "command not executable",
} as const;
export type ViscaErrorCode = keyof typeof VISCA_ERRORS;

/** Reads one complete packet (terminator included). */
export function parseReply(packet: readonly number[]): ViscaReply {
  const [header = 0, type = 0] = packet;
  if (header === 0x88 && type === 0x30) return { kind: "address-set", cameras: (packet[2] ?? 1) - 1 };
  if ((header & 0x8f) !== 0x80 || header === 0x80) return { kind: "other", bytes: [...packet] };
  const from = (header >> 4) - 8;
  const socket = type & 0x0f;
  switch (type & 0xf0) {
    case 0x40:
      return { kind: "ack", from, socket };
    case 0x50:
      return { kind: "completion", from, socket, data: packet.slice(2, -1) };
    case 0x60: {
      const code = packet[2] ?? 0;
      if (code in VISCA_ERRORS) return { kind: "error", from, socket, code: code as ViscaErrorCode };
      return { kind: "other", bytes: [...packet] };
    }
    default:
      return { kind: "other", bytes: [...packet] };
  }
}

// --- Commands -------------------------------------------------------------------------------

export type PanDirection = "left" | "right" | "none";
export type TiltDirection = "up" | "down" | "none";

const PAN_CODE: Record<PanDirection, number> = { left: 0x01, right: 0x02, none: 0x03 };
const TILT_CODE: Record<TiltDirection, number> = { up: 0x01, down: 0x02, none: 0x03 };

/** Pan/tilt speeds: pan 1–0x18, tilt 1–0x17 (manual, Pan-tiltDrive). */
export const MAX_PAN_SPEED = 0x18;
export const MAX_TILT_SPEED = 0x17;

const packet = (address: number, ...body: number[]): Uint8Array => Uint8Array.from([0x80 | address, ...body, TERMINATOR]);

/** Four nibbles of a signed 16-bit value, most significant first (0Y 0Y 0Y 0Y). */
export function nibbles(value: number): number[] {
  const word = value & 0xffff;
  return [(word >> 12) & 0xf, (word >> 8) & 0xf, (word >> 4) & 0xf, word & 0xf];
}

export function fromNibbles(bytes: readonly number[], signed: boolean): number {
  const word = bytes.slice(0, 4).reduce((acc, byte) => (acc << 4) | (byte & 0x0f), 0);
  return signed && word & 0x8000 ? word - 0x10000 : word;
}

export const visca = {
  addressSet: () => Uint8Array.from([0x88, 0x30, 0x01, TERMINATOR]),
  ifClear: () => Uint8Array.from([0x88, 0x01, 0x00, 0x01, TERMINATOR]),
  panTiltDrive: (address: number, pan: PanDirection, tilt: TiltDirection, panSpeed: number, tiltSpeed: number) =>
    packet(address, 0x01, 0x06, 0x01, clamp(panSpeed, 1, MAX_PAN_SPEED), clamp(tiltSpeed, 1, MAX_TILT_SPEED), PAN_CODE[pan], TILT_CODE[tilt]),
  panTiltStop: (address: number) => packet(address, 0x01, 0x06, 0x01, 0x01, 0x01, 0x03, 0x03),
  absolutePosition: (address: number, pan: number, tilt: number, panSpeed: number, tiltSpeed: number) =>
    packet(address, 0x01, 0x06, 0x02, clamp(panSpeed, 1, MAX_PAN_SPEED), clamp(tiltSpeed, 1, MAX_TILT_SPEED), ...nibbles(pan), ...nibbles(tilt)),
  home: (address: number) => packet(address, 0x01, 0x06, 0x04),
  /** Zoom: stop, or tele/wide at speed 0–7. */
  zoom: (address: number, direction: "in" | "out" | "stop", speed: number) =>
    packet(address, 0x01, 0x04, 0x07, direction === "stop" ? 0x00 : (direction === "in" ? 0x20 : 0x30) | clamp(speed, 0, 7)),
  zoomDirect: (address: number, position: number) => packet(address, 0x01, 0x04, 0x47, ...nibbles(position)),
  presetSet: (address: number, preset: number) => packet(address, 0x01, 0x04, 0x3f, 0x01, preset),
  presetRecall: (address: number, preset: number) => packet(address, 0x01, 0x04, 0x3f, 0x02, preset),
  panTiltPositionInquiry: (address: number) => packet(address, 0x09, 0x06, 0x12),
  zoomPositionInquiry: (address: number) => packet(address, 0x09, 0x04, 0x47),
};

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}

