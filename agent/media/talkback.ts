/**
 * Talk-back for one camera: the doctor's voice, received by a viewing session, played on the
 * clinic's speaker by a pipeline process of its own. One talker at a time; the pipeline runs only
 * while someone holds it.
 */
import { createSocket, type Socket } from "node:dgram";
import type { CameraConfig } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { freeUdpPort } from "./ports.ts";
import { PAYLOAD_TYPE, talkbackPipeline } from "./pipeline.ts";
import { PipelineProcess } from "./pipelineProcess.ts";

export class Talkback {
  readonly #config: NonNullable<CameraConfig["talkback"]>;
  readonly #log: Logger;
  #holder: string | undefined;
  #pipeline: PipelineProcess | undefined;
  #socket: Socket | undefined;
  #port = 0;
  #lastError: string | undefined;

  constructor(config: NonNullable<CameraConfig["talkback"]>, log: Logger) {
    this.#config = config;
    this.#log = log.child({ ns: "media:talkback" });
  }

  status(): { talker: string | undefined; lastError: string | undefined } {
    return { talker: this.#holder, lastError: this.#lastError };
  }

  /** Takes the speaker for `sessionId`; false when another session has it. */
  async claim(sessionId: string): Promise<boolean> {
    if (this.#holder !== undefined) return this.#holder === sessionId;
    this.#holder = sessionId;
    this.#port = await freeUdpPort();
    this.#socket = createSocket("udp4");
    const pipeline = new PipelineProcess(this.#log);
    this.#pipeline = pipeline;
    pipeline.on("failed", (message) => {
      this.#lastError = message;
      this.#log.error({ err: message }, "talk-back pipeline failed");
    });
    pipeline.start(talkbackPipeline(this.#config, this.#port), {});
    return true;
  }

  /** One RTP packet of the holder's voice. */
  play(sessionId: string, packet: Buffer): void {
    if (sessionId !== this.#holder || !this.#socket) return;
    // The browser picks Opus's payload type; the pipeline's caps name one (talkbackPipeline).
    packet[1] = ((packet[1] ?? 0) & 0x80) | PAYLOAD_TYPE.opus;
    this.#socket.send(packet, this.#port, "127.0.0.1");
  }

  async release(sessionId: string): Promise<void> {
    if (sessionId !== this.#holder) return;
    this.#holder = undefined;
    this.#socket?.close();
    this.#socket = undefined;
    const pipeline = this.#pipeline;
    this.#pipeline = undefined;
    await pipeline?.stop();
  }
}
