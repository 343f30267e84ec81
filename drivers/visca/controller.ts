/**
 * Sends PTZ commands to a VISCA camera and waits for its answers: a command is acknowledged
 * (ACK, 9y 4s FF) and later completed (9y 5s FF) on the same socket, an inquiry is answered at
 * once (9y 50 … FF), and either may fail (9y 6s ee FF). One command is in flight at a time.
 */
import { OneAtATime } from "../../lib/oneAtATime.ts";
import { Waitress, WaitTimeout } from "../../lib/waitress.ts";
import { DeviceCommandError, type DeviceController, type DeviceIo } from "../core/types.ts";
import { fromNibbles, visca, VISCA_ERRORS, type PanDirection, type TiltDirection, type ViscaReply } from "./codec.ts";
import { DIRECTIONS, PTZ_COMMANDS } from "./commands.ts";
import { IP_PAYLOAD, wrapIp } from "./framer.ts";

export interface ViscaControllerOptions {
  address: number;
  transport: "serial" | "ip";
  /** How long to wait for an ACK or an inquiry's answer. */
  replyTimeoutMs: number;
  /** How long a command may take to complete (an absolute move can take seconds). */
  completionTimeoutMs: number;
}

const MOVES: Record<(typeof DIRECTIONS)[number], [PanDirection, TiltDirection]> = {
  up: ["none", "up"],
  down: ["none", "down"],
  left: ["left", "none"],
  right: ["right", "none"],
  "up-left": ["left", "up"],
  "up-right": ["right", "up"],
  "down-left": ["left", "down"],
  "down-right": ["right", "down"],
};

const INBOX_LIMIT = 16;

export function isViscaReply(message: unknown): message is ViscaReply {
  return typeof message === "object" && message !== null && "kind" in message;
}

export class ViscaController implements DeviceController {
  readonly #io: DeviceIo;
  readonly #options: ViscaControllerOptions;
  readonly #waitress = new Waitress<ViscaReply>();
  /**
   * Replies nobody was waiting for yet: a camera often sends ACK and completion in one read, and
   * the completion must not be lost while the ACK is being handled. Cleared before each command.
   */
  readonly #inbox: ViscaReply[] = [];
  readonly #commands = new OneAtATime();
  #sequence = 0;

  constructor(io: DeviceIo, options: ViscaControllerOptions) {
    this.#io = io;
    this.#options = options;
  }

  handle(message: unknown): void {
    if (!isViscaReply(message) || this.#waitress.offer(message)) return;
    this.#inbox.push(message);
    if (this.#inbox.length > INBOX_LIMIT) this.#inbox.shift();
  }

  disconnected(): void {
    this.#waitress.rejectAll(new DeviceCommandError("device-unavailable", "the camera went away"));
  }

  execute(command: string, params: unknown): Promise<unknown> {
    return this.#commands.run(() => this.#run(command, params));
  }

  async #run(command: string, params: unknown): Promise<unknown> {
    const a = this.#options.address;
    switch (command) {
      case PTZ_COMMANDS.move.name: {
        const { direction, speed } = PTZ_COMMANDS.move.params.parse(params);
        const [pan, tilt] = MOVES[direction];
        return this.#command(visca.panTiltDrive(a, pan, tilt, speed, speed));
      }
      case PTZ_COMMANDS.stop.name:
        return this.#command(visca.panTiltStop(a));
      case PTZ_COMMANDS.goto.name: {
        const { pan, tilt, speed } = PTZ_COMMANDS.goto.params.parse(params);
        return this.#command(visca.absolutePosition(a, pan, tilt, speed, speed));
      }
      case PTZ_COMMANDS.zoom.name: {
        const zoom = PTZ_COMMANDS.zoom.params.parse(params);
        return this.#command(zoom.position !== undefined ? visca.zoomDirect(a, zoom.position) : visca.zoom(a, zoom.direction ?? "stop", zoom.speed));
      }
      case PTZ_COMMANDS.presetSet.name:
        return this.#command(visca.presetSet(a, PTZ_COMMANDS.presetSet.params.parse(params).preset));
      case PTZ_COMMANDS.presetRecall.name:
        return this.#command(visca.presetRecall(a, PTZ_COMMANDS.presetRecall.params.parse(params).preset));
      case PTZ_COMMANDS.position.name: {
        const panTilt = await this.#inquiry(visca.panTiltPositionInquiry(a));
        const zoom = await this.#inquiry(visca.zoomPositionInquiry(a));
        return { pan: fromNibbles(panTilt.slice(0, 4), true), tilt: fromNibbles(panTilt.slice(4, 8), true), zoom: fromNibbles(zoom, false) };
      }
      default:
        throw new DeviceCommandError("unsupported-command", `a VISCA camera does not take ${command}`);
    }
  }

  /** A command: ACK then completion on the ACK's socket (or an error at either step). */
  async #command(packet: Uint8Array): Promise<{ done: true }> {
    const fromCamera = (reply: ViscaReply) => "from" in reply && reply.from === this.#options.address;
    this.#send(packet, IP_PAYLOAD.COMMAND);
    const first = await this.#wait("ACK", (reply) => fromCamera(reply) && (reply.kind === "ack" || reply.kind === "error" || reply.kind === "completion"), this.#options.replyTimeoutMs);
    if (first.kind === "error") throw rejected(first.code);
    if (first.kind === "completion") return { done: true };
    const socket = first.kind === "ack" ? first.socket : 0;
    const completed = await this.#wait(
      "completion",
      (reply) => fromCamera(reply) && (reply.kind === "completion" || reply.kind === "error") && reply.socket === socket,
      this.#options.completionTimeoutMs,
    );
    if (completed.kind === "error") throw rejected(completed.code);
    return { done: true };
  }

  /** An inquiry: answered at once with data (9y 50 … FF), or an error. */
  async #inquiry(packet: Uint8Array): Promise<number[]> {
    this.#send(packet, IP_PAYLOAD.INQUIRY);
    const reply = await this.#wait(
      "inquiry answer",
      (candidate) => "from" in candidate && candidate.from === this.#options.address && (candidate.kind === "completion" || candidate.kind === "error"),
      this.#options.replyTimeoutMs,
    );
    if (reply.kind === "error") throw rejected(reply.code);
    return reply.kind === "completion" ? reply.data : [];
  }

  #send(packet: Uint8Array, payloadType: number): void {
    this.#inbox.length = 0; // late answers to an earlier, timed-out command are not this one's
    const bytes = this.#options.transport === "ip" ? wrapIp(payloadType, ++this.#sequence, packet) : packet;
    if (!this.#io.send(bytes)) throw new DeviceCommandError("device-unavailable", "the camera is not connected");
  }

  /** The first reply (already in the inbox, or yet to come) that matches. */
  async #wait(what: string, match: (reply: ViscaReply) => boolean, ms: number): Promise<ViscaReply> {
    const waiting = this.#inbox.findIndex(match);
    if (waiting >= 0) return this.#inbox.splice(waiting, 1)[0] ?? Promise.reject(new Error("inbox raced"));
    try {
      return await this.#waitress.waitFor(what, match, ms);
    } catch (error) {
      if (error instanceof WaitTimeout) throw new DeviceCommandError("device-timeout", `the camera sent no ${what} within ${ms} ms`);
      throw error;
    }
  }
}

function rejected(code: keyof typeof VISCA_ERRORS): DeviceCommandError {
  return new DeviceCommandError("device-rejected", `the camera answered: ${VISCA_ERRORS[code]}`);
}
