/**
 * A UDP transport (VISCA over IP): every datagram is one `data` event. `connect`: the agent talks
 * to one camera. `bind`: a simulated camera listens and answers whoever spoke to it last.
 * UDP has no connection, so "connected" means the socket is ready.
 */
import dgram from "node:dgram";
import { EventEmitter } from "node:events";
import net from "node:net";
import { type ByteLink, type LinkEvents } from "../serial/link.ts";
import { formatEndpoint, type TcpEndpoint } from "./tcpLink.ts";

export class UdpLink extends EventEmitter<LinkEvents> implements ByteLink {
  readonly #mode: "connect" | "bind";
  readonly #endpoint: TcpEndpoint;
  #socket: dgram.Socket | undefined;
  #peer: { address: string; port: number } | undefined;

  constructor(mode: "connect" | "bind", endpoint: TcpEndpoint) {
    super();
    this.#mode = mode;
    this.#endpoint = endpoint;
  }

  start(): void {
    const socket = dgram.createSocket(net.isIPv6(this.#endpoint.host) ? "udp6" : "udp4");
    this.#socket = socket;
    socket.on("message", (message, remote) => {
      if (this.#mode === "bind") this.#peer = { address: remote.address, port: remote.port };
      this.emit("data", message);
    });
    socket.on("error", (error) => this.emit("state", { connected: false, error: error.message, retryInMs: undefined }));
    const ready = () => this.emit("state", { connected: true, path: `udp://${formatEndpoint(this.#endpoint)}` });
    if (this.#mode === "bind") socket.bind(this.#endpoint.port, this.#endpoint.host, ready);
    else {
      this.#peer = { address: this.#endpoint.host, port: this.#endpoint.port };
      socket.bind(0, ready);
    }
  }

  async stop(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** A UDP socket has no connection to retry. */
  retryNow(): boolean {
    return false;
  }

  write(bytes: Uint8Array): boolean {
    if (!this.#socket || !this.#peer) return false;
    this.#socket.send(bytes, this.#peer.port, this.#peer.address);
    return true;
  }
}
