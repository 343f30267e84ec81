/**
 * The fleet service's /api/stream read raw over a connected socket (plain or TLS), as a test needs
 * it: every `data:` line collected, a wait for the next event that matches, and a wait for the
 * server to end the response. Raw, not EventSource or fetch, so a test can pause the socket and be
 * the slow reader the server must drop.
 */
import type { Socket } from "node:net";
import { waitFor } from "./wait.ts";

export interface RawEventStream {
  /** Every event's data so far, in order. */
  events(): string[];
  /** The first event (already received or still to come) whose data matches. */
  next(match: (data: string) => boolean): Promise<string>;
  /** Resolves once the server ends the response (its last chunk, RFC 9112 §7.1) or the socket closes. */
  ended(): Promise<void>;
  /** All bytes received, headers included. */
  text(): string;
}

export function readEventStream(socket: Socket, port: number): RawEventStream {
  socket.write(`GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  let text = "";
  const waiters = new Set<() => void>();
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    text += chunk;
    for (const waiter of waiters) waiter();
  });
  const events = () => [...text.matchAll(/^data: (.*)$/gm)].map((match) => match[1] ?? "");
  const next = (match: (data: string) => boolean) =>
    waitFor<string>(() => `a stream event (have ${text.slice(0, 300)})`, 10_000, (done) => {
      const check = () => {
        const found = events().find(match);
        if (found !== undefined) done(found);
      };
      waiters.add(check);
      check();
      return () => waiters.delete(check);
    });
  const ended = () =>
    waitFor<void>(() => `the stream to end (have ${text.slice(-200)})`, 10_000, (done) => {
      const check = () => (text.endsWith("\r\n0\r\n\r\n") || socket.destroyed) && done(undefined);
      waiters.add(check);
      socket.once("close", check);
      check();
      return () => waiters.delete(check);
    });
  return { events, next, ended, text: () => text };
}
