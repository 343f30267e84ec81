/**
 * A TCP transport to a device, with the same events as a serial line. `connect`: the agent dials
 * the device and redials with backoff. `listen`: the device dials the agent (HL7 senders usually
 * do); one peer at a time — a device that reconnects after a reboot replaces its old connection.
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import { backoffDelayMs } from "../../lib/backoff.ts";
import { LINK_BACKOFF, type ByteLink, type LinkEvents } from "../serial/link.ts";

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

/**
 * A monitor that loses power, or whose cable is pulled, sends no FIN: without probes its
 * connection would look open for ever. The kernel probes after this much silence (libuv then
 * sends 10 probes a second apart), so a dead peer is noticed ~15 s later.
 */
const KEEPALIVE_IDLE_MS = 5_000;

export class TcpLink extends EventEmitter<LinkEvents> implements ByteLink {
  readonly #mode: "listen" | "connect";
  readonly #endpoint: TcpEndpoint;
  readonly #keepAliveIdleMs: number;
  #server: net.Server | undefined;
  #socket: net.Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #again: (() => void) | undefined;
  #attempt = 0;
  #stopped = true;

  constructor(mode: "listen" | "connect", endpoint: TcpEndpoint, options: { keepAliveIdleMs?: number } = {}) {
    super();
    this.#mode = mode;
    this.#endpoint = endpoint;
    this.#keepAliveIdleMs = options.keepAliveIdleMs ?? KEEPALIVE_IDLE_MS;
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
    let connected = false;
    let failure: Error | undefined;
    socket.on("connect", () => {
      connected = true;
      this.#attempt = 0;
      this.#adopt(socket);
    });
    socket.on("error", (error) => (failure = error)); // the close that follows carries on
    socket.on("close", () => {
      if (this.#socket === socket) this.#socket = undefined;
      const reason = failure && !connected ? `cannot reach ${formatEndpoint(this.#endpoint)}` : endReason(failure);
      this.#retry(reason, () => this.#dial());
    });
  }

  #listen(): void {
    const server = net.createServer((socket) => {
      this.#socket?.destroy();
      this.#adopt(socket);
      let failure: Error | undefined;
      socket.on("error", (error) => (failure = error)); // the close that follows carries on
      socket.on("close", () => {
        if (this.#socket !== socket) return;
        this.#socket = undefined;
        if (!this.#stopped) this.emit("state", { connected: false, error: endReason(failure), retryInMs: undefined });
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
    socket.setKeepAlive(true, this.#keepAliveIdleMs);
    socket.on("data", (chunk: Buffer) => this.emit("data", chunk));
    this.emit("state", { connected: true, path: `tcp://${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}` });
  }

  #retry(reason: string, again: () => void): void {
    if (this.#stopped) return;
    const retryInMs = backoffDelayMs(this.#attempt, LINK_BACKOFF);
    this.#attempt += 1;
    this.emit("state", { connected: false, error: reason, retryInMs });
    this.#again = again;
    this.#timer = setTimeout(() => {
      this.#again = undefined;
      again();
    }, retryInMs);
  }
}

/** Why an established connection ended, as an operator reads it in the peripheral's lastError. */
function endReason(failure: Error | undefined): string {
  if (failure === undefined) return "peer closed the connection";
  const code = (failure as NodeJS.ErrnoException).code;
  if (code === "ETIMEDOUT") return "the device stopped answering (no power, or its cable is out)";
  return `connection lost: ${failure.message}`;
}
