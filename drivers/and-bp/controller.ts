/**
 * Commands to an A&D monitor: each is answered with ACK (taken) or NAK (refused: busy, or nothing
 * to read); a read is then followed by the measurement text. One command is in flight at a time.
 */
import { OneAtATime } from "../../lib/oneAtATime.ts";
import { Waitress, WaitTimeout } from "../../lib/waitress.ts";
import { DeviceCommandError, type DeviceController, type DeviceIo } from "../core/types.ts";
import { BP_COMMANDS, COMMAND_TEXT } from "./commands.ts";
import { isAndMessage, type AndMessage } from "./decoder.ts";
import { encodeText } from "./frames.ts";
import type { BpMeasurement } from "./measurement.ts";

export interface AndControllerOptions {
  address: string;
  /** How long to wait for ACK/NAK. */
  replyTimeoutMs: number;
  /** How long a read may take to deliver its measurement after the ACK. */
  readTimeoutMs: number;
}

export class AndController implements DeviceController {
  readonly #io: DeviceIo;
  readonly #options: AndControllerOptions;
  readonly #waitress = new Waitress<AndMessage>();
  readonly #commands = new OneAtATime();

  constructor(io: DeviceIo, options: AndControllerOptions) {
    this.#io = io;
    this.#options = options;
  }

  handle(message: unknown): void {
    if (isAndMessage(message)) this.#waitress.offer(message);
  }

  disconnected(): void {
    this.#waitress.rejectAll(new DeviceCommandError("device-unavailable", "the monitor went away"));
  }

  execute(command: string, params: unknown): Promise<unknown> {
    return this.#commands.run(() => this.#run(command, params));
  }

  async #run(command: string, _params: unknown): Promise<unknown> {
    switch (command) {
      case BP_COMMANDS.start.name:
        await this.#acknowledged(COMMAND_TEXT.start, "is busy or cannot start a measurement");
        return { started: true };
      case BP_COMMANDS.stop.name:
        await this.#acknowledged(COMMAND_TEXT.stop, "refused to stop");
        return { stopped: true };
      case BP_COMMANDS.read.name: {
        // Wait for the text before sending, so a fast monitor cannot answer before we listen.
        const text = this.#wait("measurement", (message) => message.kind === "measurement", this.#options.replyTimeoutMs + this.#options.readTimeoutMs);
        text.catch(() => undefined);
        await this.#acknowledged(COMMAND_TEXT.read, "has no measurement to read");
        const message = await text;
        return message.kind === "measurement" ? describe(message.measurement) : undefined;
      }
      default:
        throw new DeviceCommandError("unsupported-command", `an A&D blood-pressure monitor does not take ${command}`);
    }
  }

  async #acknowledged(text: string, refusal: string): Promise<void> {
    const answer = this.#wait("ACK", (message) => message.kind === "ack" || message.kind === "nak", this.#options.replyTimeoutMs);
    if (!this.#io.send(encodeText(text, this.#options.address))) {
      answer.catch(() => undefined);
      throw new DeviceCommandError("device-unavailable", "the monitor is not connected");
    }
    if ((await answer).kind === "nak") throw new DeviceCommandError("device-rejected", `the monitor ${refusal} (NAK)`);
  }

  async #wait(what: string, match: (message: AndMessage) => boolean, ms: number): Promise<AndMessage> {
    try {
      return await this.#waitress.waitFor(what, match, ms);
    } catch (error) {
      if (error instanceof WaitTimeout) throw new DeviceCommandError("device-timeout", `the monitor sent no ${what} within ${ms} ms`);
      throw error;
    }
  }
}

/** A read's answer: the measurement in plain words, values absent when the monitor gave none. */
function describe(measurement: BpMeasurement): Record<string, unknown> {
  const { time, error, systolic, diastolic, mean, pulseRate } = measurement;
  return {
    ...(time !== undefined && { time }),
    ok: error === 0,
    ...(error !== 0 && { errorCode: error }),
    ...(systolic !== undefined && { systolic }),
    ...(diastolic !== undefined && { diastolic }),
    ...(mean !== undefined && { mean }),
    ...(pulseRate !== undefined && { pulseRate }),
    unit: "mm[Hg]",
  };
}
