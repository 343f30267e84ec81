import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { relay, relayWebSockets, type RelayEvents } from "../../../tools/console/relay.ts";
import { waitFor } from "../../helpers/wait.ts";

/** RFC 6455 §5.2. */
const OPCODE = { binary: 0x2, close: 0x8, ping: 0x9 } as const;

/** A stream end whose writes complete only when `release()` is called: a peer that stopped reading. */
function stalledPeer(): { stream: Duplex; written: () => number; release: () => void } {
  let written = 0;
  let stalled = true;
  const waiting: Array<() => void> = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written += chunk.length;
      if (stalled) waiting.push(callback);
      else callback();
    },
  });
  return {
    stream,
    written: () => written,
    release: () => {
      stalled = false;
      for (const callback of waiting.splice(0)) callback();
    },
  };
}

/** A browser's frame: masked (RFC 6455 §5.3), of fewer than 64 KiB. */
function maskedFrame(payload: Buffer, opcode: number = OPCODE.binary): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  const length = payload.length < 126 ? [0x80 | payload.length] : [0x80 | 126, payload.length >> 8, payload.length & 0xff];
  return Buffer.concat([Buffer.from([0x80 | opcode, ...length]), mask, masked]);
}

/** The relay's WebSocket on the server's end of `browser`, as the console server accepts it. */
function accepted(browser: Duplex): WebSocket {
  const request = new IncomingMessage(new Socket());
  request.method = "GET";
  request.headers = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-protocol": "mqtt" };
  let webSocket: WebSocket | undefined;
  relayWebSockets().handleUpgrade(request, browser, Buffer.alloc(0), (accepted) => (webSocket = accepted));
  if (!webSocket) throw new Error("the handshake was refused");
  return webSocket;
}

const CHUNK = 60_000; // one 16-bit-length frame each way
const FLOOD = 200; // 12 MB, far more than any stream buffer
const NO_EVENTS = { onClosed: () => undefined, onUpstreamError: () => undefined };
/** One turn of the event loop: what the streams do by themselves happens in between. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("the relay's buffering", () => {
  it("stops reading the broker while the browser is not reading, and then delivers everything", async () => {
    const browser = stalledPeer();
    const broker = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
    relay(accepted(browser.stream), broker, NO_EVENTS);
    const handshake = browser.written(); // the 101 answer
    for (let i = 0; i < FLOOD; i++) {
      broker.push(Buffer.alloc(CHUNK, i));
      await turn();
    }
    // The relay stopped reading the broker's side (for a socket, the kernel's window closes):
    // what it holds for the browser is a stream buffer and a frame, not 12 MB.
    expect(broker.isPaused()).toBe(true);
    expect(browser.stream.writableLength).toBeLessThan(2 * CHUNK + 64 * 1024);
    browser.release();
    for (let i = 0; i < 10 * FLOOD && browser.written() < handshake + FLOOD * (CHUNK + 4); i++) await turn();
    expect(browser.written()).toBe(handshake + FLOOD * (CHUNK + 4)); // every byte, framed
  });

  it("stops reading the browser while the broker is not reading, and then delivers everything", async () => {
    const broker = stalledPeer();
    const browser = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
    relay(accepted(browser), broker.stream, NO_EVENTS);
    for (let i = 0; i < FLOOD; i++) {
      browser.push(maskedFrame(Buffer.alloc(CHUNK, i)));
      await turn();
    }
    expect(browser.isPaused()).toBe(true);
    expect(broker.stream.writableLength).toBeLessThan(2 * CHUNK + 64 * 1024);
    broker.release();
    for (let i = 0; i < 10 * FLOOD && broker.written() < FLOOD * CHUNK; i++) await turn();
    expect(broker.written()).toBe(FLOOD * CHUNK);
  });

  it("answers pings, but reads no further from a browser that never reads its pongs", async () => {
    const browser = stalledPeer();
    const broker = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
    relay(accepted(browser.stream), broker, NO_EVENTS);
    for (let i = 0; i < 1000; i++) { // 127 kB of pongs, twice a stream's buffer
      browser.stream.push(maskedFrame(Buffer.alloc(125, i), OPCODE.ping));
      await turn();
    }
    expect(browser.stream.isPaused()).toBe(true);
    expect(browser.stream.writableLength).toBeLessThan(64 * 1024 + 256);
  });

  it("ends the connection on a ping over 125 bytes (RFC 6455 §5.5)", async () => {
    const browser = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
    const broker = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
    let closed = 0;
    relay(accepted(browser), broker, { ...NO_EVENTS, onClosed: () => closed++ });
    browser.push(maskedFrame(Buffer.alloc(126), OPCODE.ping));
    await turn();
    expect(closed).toBe(1);
    expect(broker.destroyed).toBe(true);
  });
});

describe("what the relay takes from a browser", () => {
  /** A browser end that records what it is sent, and a broker end that records what reaches it. */
  function ends() {
    const toBrowser: Buffer[] = [];
    const toBroker: Buffer[] = [];
    const browser = new Duplex({ read() {}, write: (chunk: Buffer, _encoding, callback) => (toBrowser.push(chunk), callback()) });
    const broker = new Duplex({ read() {}, write: (chunk: Buffer, _encoding, callback) => (toBroker.push(chunk), callback()) });
    let closed = 0;
    relay(accepted(browser), broker, { ...NO_EVENTS, onClosed: () => closed++ });
    return { browser, broker, toBrowser, toBroker, closed: () => closed };
  }

  it("passes MQTT bytes through unchanged both ways, in binary frames to the browser", async () => {
    const { browser, broker, toBrowser, toBroker } = ends();
    const connect = Buffer.from("100d00044d5154540502003c000000", "hex");
    browser.push(maskedFrame(connect));
    broker.push(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00])); // CONNACK
    await turn();
    expect(Buffer.concat(toBroker)).toEqual(connect);
    expect(Buffer.concat(toBrowser).subarray(-7)).toEqual(Buffer.from([0x82, 5, 0x20, 0x03, 0x00, 0x00, 0x00]));
  });

  it("ends the connection on a message over 1 MiB, before reading it, with 1009 (RFC 6455 §7.4.1)", async () => {
    const { browser, broker, toBrowser, toBroker, closed } = ends();
    // A header that announces 2 MiB (64-bit length, §5.2); not one byte of the payload follows.
    browser.push(Buffer.from([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0x20, 0, 0, 1, 2, 3, 4]));
    await turn();
    expect(closed()).toBe(1);
    expect(broker.destroyed).toBe(true);
    expect(toBroker).toEqual([]);
    expect(Buffer.concat(toBrowser).subarray(-4)).toEqual(Buffer.from([0x88, 2, 0x03, 0xf1]));
  });

  it("ends the connection on an unmasked frame: no browser sends one (RFC 6455 §5.1)", async () => {
    const { browser, broker, toBroker, closed } = ends();
    browser.push(Buffer.from([0x82, 2, 0x10, 0x00]));
    await turn();
    expect(closed()).toBe(1);
    expect(broker.destroyed).toBe(true);
    expect(toBroker).toEqual([]);
  });

  it("sends a close frame when the broker's side ends, and drops a client that never answers it", async () => {
    const { browser, broker, toBrowser, closed } = ends();
    const gone = waitFor<void>("the browser's side to close", 5_000, (done) => {
      browser.once("close", () => done());
      return () => undefined;
    });
    broker.destroy();
    await turn();
    expect(closed()).toBe(1);
    expect(Buffer.concat(toBrowser).subarray(-2)).toEqual(Buffer.from([0x88, 0]));
    await gone; // within the relay's closing timeout, not ws's default 30 s
  });
});
