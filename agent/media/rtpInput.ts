/**
 * Where a camera's pipeline sends its RTP: one loopback UDP socket per stream (each video codec,
 * sound). Notices when a stream's SSRC changes (a restarted pipeline) so viewers can splice the
 * new stream on, and fixes up H.264 packets for Chromium on the way through.
 */
import { createSocket, type Socket } from "node:dgram";
import type { Logger } from "../../lib/log.ts";
import type { VideoCodec } from "./pipeline.ts";
import { clearParameterSetMarker, rtpSsrc } from "./rtp.ts";

/** `clinical`: the stethoscope's sound, an audio track of its own beside the room's. */
export type MediaKind = "video" | "audio" | "clinical";

/** One RTP stream of a camera's pipeline: the picture in one codec, or the sound. */
export type RtpStream = VideoCodec | "audio" | "clinical";

/**
 * Receives every RTP packet. `newSource` is set on the first packet from a restarted pipeline,
 * whose sequence numbers and timestamps start afresh: each viewer's sender must splice them onto
 * what it sent before, or the browser discards them as out of order.
 */
export type PacketHandler = (stream: RtpStream, packet: Buffer, newSource: boolean) => void;

export class RtpInput {
  readonly #sockets: Map<RtpStream, Socket>;

  private constructor(sockets: Map<RtpStream, Socket>) {
    this.#sockets = sockets;
  }

  static async open(options: { streams: readonly RtpStream[]; onPacket: PacketHandler; log: Logger }): Promise<RtpInput> {
    const sockets = new Map<RtpStream, Socket>();
    for (const stream of options.streams) {
      const socket = createSocket("udp4");
      let ssrc: number | undefined;
      socket.on("message", (packet) => {
        const source = rtpSsrc(packet);
        const newSource = ssrc !== undefined && source !== ssrc;
        ssrc = source;
        if (stream === "h264") clearParameterSetMarker(packet);
        options.onPacket(stream, packet, newSource);
      });
      socket.on("error", (error) => options.log.warn({ stream, err: error.message }, "RTP socket error"));
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
      sockets.set(stream, socket);
    }
    return new RtpInput(sockets);
  }

  /** The loopback port the pipeline's udpsink for this stream sends to. */
  port(stream: RtpStream): number | undefined {
    return this.#sockets.get(stream)?.address().port;
  }

  close(): void {
    for (const socket of this.#sockets.values()) socket.close();
    this.#sockets.clear();
  }
}
