/**
 * A VISCA PTZ camera: answers commands with ACK and completion, inquiries with its position,
 * address set with the camera count, and what it cannot do with the matching error. Over IP it
 * unwraps each datagram and replies with the same sequence number.
 */
import type { DeviceSimulator } from "../core/simulation.ts";
import { nibbles } from "./codec.ts";
import { IP_PAYLOAD, unwrapIp, ViscaFramer, wrapIp } from "./framer.ts";

export interface CameraState {
  pan: number;
  tilt: number;
  zoom: number;
  presets: Map<number, { pan: number; tilt: number; zoom: number }>;
}

export function createCameraSimulator(address: number, transport: "serial" | "ip"): DeviceSimulator & { state: CameraState } {
  const state: CameraState = { pan: 0, tilt: 0, zoom: 0, presets: new Map() };
  const framer = new ViscaFramer();
  const answer = (packet: number[]) => Uint8Array.from(answerPacket(packet, address, state));
  return {
    intervalMs: 1000,
    state,
    chunk: () => new Uint8Array(0), // a camera speaks only when spoken to
    receive(bytes) {
      if (transport === "ip") {
        const datagram = unwrapIp(bytes);
        if (!datagram.ok) return undefined;
        if (datagram.payloadType === IP_PAYLOAD.CONTROL) return wrapIp(IP_PAYLOAD.CONTROL_REPLY, datagram.sequence, Uint8Array.from([0x01]));
        return wrapIp(IP_PAYLOAD.REPLY, datagram.sequence, answer([...datagram.payload]));
      }
      const replies = framer.push(bytes).flatMap((event) => (event.type === "packet" ? [...answer(event.bytes)] : []));
      return replies.length > 0 ? Uint8Array.from(replies) : undefined;
    },
  };
}

function answerPacket(packet: number[], address: number, state: CameraState): number[] {
  const [header, kind, category, item] = packet;
  if (header === 0x88 && kind === 0x30) return [0x88, 0x30, 0x02, 0xff]; // address set: one camera
  if (header === 0x88 && kind === 0x01) return [0x88, 0x01, 0x00, 0x01, 0xff]; // IF_Clear
  if (header !== (0x80 | address)) return [];
  const reply = 0x80 | (address << 4);
  const ack = [reply, 0x41, 0xff];
  const done = [reply, 0x51, 0xff];
  const notExecutable = [reply, 0x61, 0x41, 0xff];
  const syntaxError = [reply, 0x60, 0x02, 0xff];
  const word = (at: number) => packet.slice(at, at + 4).reduce((acc, b) => (acc << 4) | (b & 0x0f), 0);
  const signed = (value: number) => (value & 0x8000 ? value - 0x10000 : value);

  if (kind === 0x09) {
    if (category === 0x06 && item === 0x12) return [reply, 0x50, ...nibbles(state.pan), ...nibbles(state.tilt), 0xff];
    if (category === 0x04 && item === 0x47) return [reply, 0x50, ...nibbles(state.zoom), 0xff];
    return syntaxError;
  }
  if (kind !== 0x01) return syntaxError;
  if (category === 0x06 && item === 0x01) {
    const [panDir, tiltDir] = [packet[6], packet[7]];
    state.pan += panDir === 0x01 ? -100 : panDir === 0x02 ? 100 : 0;
    state.tilt += tiltDir === 0x01 ? 100 : tiltDir === 0x02 ? -100 : 0;
    return [...ack, ...done];
  }
  if (category === 0x06 && item === 0x02) {
    state.pan = signed(word(6));
    state.tilt = signed(word(10));
    return [...ack, ...done];
  }
  if (category === 0x06 && item === 0x04) {
    state.pan = 0;
    state.tilt = 0;
    return [...ack, ...done];
  }
  if (category === 0x04 && item === 0x07) {
    const speed = packet[4] ?? 0;
    state.zoom = Math.max(0, Math.min(0x4000, state.zoom + ((speed & 0xf0) === 0x20 ? 0x400 : (speed & 0xf0) === 0x30 ? -0x400 : 0)));
    return [...ack, ...done];
  }
  if (category === 0x04 && item === 0x47) {
    state.zoom = word(4);
    return [...ack, ...done];
  }
  if (category === 0x04 && item === 0x3f) {
    const [action, preset = 0] = [packet[4], packet[5]];
    if (action === 0x01) {
      state.presets.set(preset, { pan: state.pan, tilt: state.tilt, zoom: state.zoom });
      return [...ack, ...done];
    }
    const stored = state.presets.get(preset);
    if (action !== 0x02 || !stored) return [...ack, ...notExecutable];
    Object.assign(state, stored);
    return [...ack, ...done];
  }
  return syntaxError;
}
