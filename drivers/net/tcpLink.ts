/**
 * A TCP transport to a device, with the same events as a serial line. `connect`: the agent dials
 * the device and redials with backoff. `listen`: the device dials the agent (HL7 senders usually
 * do); one peer at a time — a device that reconnects after a reboot replaces its old connection.
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import { retryDelayMs, type ByteLink, type LinkEvents } from "../serial/link.ts";

export interface TcpEndpoint {
  host: string;
  port: number;
}

export function formatEndpoint({ host, port }: TcpEndpoint): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "127.0.0.1:2575" or "[::1]:2575". */
export function parseEndpoint(text: string): TcpEndpoint | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  return host !== undefined && port > 0 && port < 65536 ? { host, port } : undefined;
}

export class TcpLink extends EventEmitter<LinkEvents> implements ByteLink {
  readonly #mode: "listen" | "connect";
  readonly #endpoint: TcpEndpoint;
  #server: net.Server | undefined;
  #socket: net.Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #again: (() => void) | undefined;
  #attempt = 0;
  #stopped = true;

  constructor(mode: "listen" | "connect", endpoint: TcpEndpoint) {
    super();
    this.#mode = mode;
    this.#endpoint = endpoint;
  }

  start(): void {
    this.#stopped = false;
    if (this.#mode === "connect") this.#dial();
    else this.#listen();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#socket?.destroy();
    this.#socket = undefined;
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  write(bytes: Uint8Array): boolean {
    if (!this.#socket || this.#socket.destroyed) return false;
    this.#socket.write(bytes);
    return true;
  }

  retryNow(): boolean {
    const again = this.#again;
    if (this.#stopped || again === undefined) return false;
    clearTimeout(this.#timer);
    this.#again = undefined;
    this.#attempt = 0;
    again();
    return true;
  }

  #dial(): void {
    const socket = net.connect(this.#endpoint);
    socket.on("connect", () => {
      this.#attempt = 0;
      this.#adopt(socket);
    });
    socket.on("error", () => undefined); // the close that follows carries on
    socket.on("close", (hadError) => {
      if (this.#socket === socket) this.#socket = undefined;
      this.#retry(hadError ? `cannot reach ${formatEndpoint(this.#endpoint)}` : "peer closed the connection", () => this.#dial());
    });
  }

  #listen(): void {
    const server = net.createServer((socket) => {
      this.#socket?.destroy();
      this.#adopt(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        if (this.#socket !== socket) return;
        this.#socket = undefined;
        if (!this.#stopped) this.emit("state", { connected: false, error: "peer closed the connection", retryInMs: undefined });
      });
    });
    server.on("error", (error) => {
      this.#server = undefined;
      server.close();
      this.#retry(`cannot listen on ${formatEndpoint(this.#endpoint)}: ${error.message}`, () => this.#listen());
    });
    server.listen(this.#endpoint.port, this.#endpoint.host);
    this.#server = server;
  }

  #adopt(socket: net.Socket): void {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => this.emit("data", chunk));
    this.emit("state", { connected: true, path: `tcp://${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}` });
  }

  #retry(reason: string, again: () => void): void {
    if (this.#stopped) return;
    const retryInMs = retryDelayMs(this.#attempt);
    this.#attempt += 1;
    this.emit("state", { connected: false, error: reason, retryInMs });
    this.#again = again;
    this.#timer = setTimeout(() => {
      this.#again = undefined;
      again();
    }, retryInMs);
  }
}
