/**
 * Where a camera's pipeline sends its RTP: one loopback UDP socket per media kind. Notices when a
 * stream's SSRC changes (a restarted pipeline) so viewers can splice the new stream on, and fixes
 * up H.264 packets for Chromium on the way through.
 */
import { createSocket, type Socket } from "node:dgram";
import type { Logger } from "../log.ts";
import { clearParameterSetMarker, rtpSsrc } from "./rtp.ts";

export type MediaKind = "video" | "audio";

/**
 * Receives every RTP packet. `newSource` is set on the first packet from a restarted pipeline,
 * whose sequence numbers and timestamps start afresh: each viewer's sender must splice them onto
 * what it sent before, or the browser discards them as out of order.
 */
export type PacketHandler = (kind: MediaKind, packet: Buffer, newSource: boolean) => void;

export class RtpInput {
  readonly #sockets: Map<MediaKind, Socket>;

  private constructor(sockets: Map<MediaKind, Socket>) {
    this.#sockets = sockets;
  }

  static async open(options: { kinds: readonly MediaKind[]; h264: boolean; onPacket: PacketHandler; log: Logger }): Promise<RtpInput> {
    const sockets = new Map<MediaKind, Socket>();
    for (const kind of options.kinds) {
      const socket = createSocket("udp4");
      let ssrc: number | undefined;
      socket.on("message", (packet) => {
        const source = rtpSsrc(packet);
        const newSource = ssrc !== undefined && source !== ssrc;
        ssrc = source;
        if (kind === "video" && options.h264) clearParameterSetMarker(packet);
        options.onPacket(kind, packet, newSource);
      });
      socket.on("error", (error) => options.log.warn({ kind, err: error.message }, "RTP socket error"));
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
      sockets.set(kind, socket);
    }
    return new RtpInput(sockets);
  }

  /** The loopback port the pipeline's udpsink for this kind sends to. */
  port(kind: MediaKind): number | undefined {
    return this.#sockets.get(kind)?.address().port;
  }

  close(): void {
    for (const socket of this.#sockets.values()) socket.close();
    this.#sockets.clear();
  }
}
