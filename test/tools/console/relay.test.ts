import { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { relay } from "../../../tools/console/relay.ts";
import { OPCODE } from "../../../tools/console/wsFrames.ts";

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

const CHUNK = 60_000; // one 16-bit-length frame each way
const FLOOD = 200; // 12 MB, far more than any stream buffer
const NO_EVENTS = { onClosed: () => undefined, onUpstreamError: () => undefined };
/** One turn of the event loop: what the streams do by themselves happens in between. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("the relay's buffering", () => {
  it("stops reading the broker while the browser is not reading, and then delivers everything", async () => {
    const browser = stalledPeer();
    const broker = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
    relay(browser.stream, broker, Buffer.alloc(0), NO_EVENTS);
    for (let i = 0; i < FLOOD; i++) {
      broker.push(Buffer.alloc(CHUNK, i));
      await turn();
    }
    // The relay stopped reading the broker's side (for a socket, the kernel's window closes):
    // what it holds for the browser is a stream buffer and a frame, not 12 MB.
    expect(broker.isPaused()).toBe(true);
    expect(browser.stream.writableLength).toBeLessThan(2 * CHUNK + 64 * 1024);
    browser.release();
    for (let i = 0; i < 10 * FLOOD && browser.written() < FLOOD * (CHUNK + 4); i++) await turn();
    expect(browser.written()).toBe(FLOOD * (CHUNK + 4)); // every byte, framed
  });

  it("stops reading the browser while the broker is not reading, and then delivers everything", async () => {
    const broker = stalledPeer();
    const browser = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
    relay(browser, broker.stream, Buffer.alloc(0), NO_EVENTS);
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
    relay(browser.stream, broker, Buffer.alloc(0), NO_EVENTS);
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
    relay(browser, broker, Buffer.alloc(0), { ...NO_EVENTS, onClosed: () => closed++ });
    browser.push(maskedFrame(Buffer.alloc(126), OPCODE.ping));
    await turn();
    expect(closed).toBe(1);
    expect(broker.destroyed).toBe(true);
  });
});
