/**
 * The buffer every framer reads from, and the discard counter every decoder reports through:
 * bytes come out in the order they went in whatever the chunking, and a run of skipped bytes is
 * one discarded event that names its first cause.
 */
import { describe, expect, it } from "vitest";
import { ByteBuffer, DiscardCounter } from "../../../drivers/serial/byteBuffer.ts";

describe("ByteBuffer", () => {
  it("looks ahead without consuming, takes and skips from the front", () => {
    const buffer = new ByteBuffer();
    buffer.append(Uint8Array.from([1, 2]));
    buffer.append(Uint8Array.from([3, 4, 5]));
    expect(buffer.length).toBe(5);
    expect([buffer.at(0), buffer.at(4), buffer.at(5)]).toEqual([1, 5, undefined]);
    expect([...buffer.take(2)]).toEqual([1, 2]);
    buffer.skip(1);
    expect(buffer.length).toBe(2);
    expect(buffer.at(0)).toBe(4);
  });

  it("gives back only what it holds when asked for more, and never skips past its end", () => {
    const buffer = new ByteBuffer();
    buffer.append(Uint8Array.from([7, 8]));
    expect([...buffer.take(10)]).toEqual([7, 8]);
    buffer.skip(5);
    expect(buffer.length).toBe(0);
    buffer.append(Uint8Array.from([9]));
    expect([...buffer.take(1)]).toEqual([9]);
  });

  it("yields the same bytes wherever a stream is split", () => {
    const stream = Uint8Array.from({ length: 40 }, (_, i) => (i * 37) & 0xff);
    for (let cut = 0; cut <= stream.length; cut++) {
      const buffer = new ByteBuffer();
      const out: number[] = [];
      buffer.append(stream.subarray(0, cut));
      out.push(...buffer.take(3));
      buffer.append(stream.subarray(cut));
      out.push(...buffer.take(stream.length));
      expect(out).toEqual([...stream]);
    }
  });
});

describe("DiscardCounter", () => {
  it("reports nothing when nothing was discarded", () => {
    expect(new DiscardCounter().flush()).toBeUndefined();
  });

  it("groups a run into one event with the run's first reason, then starts afresh", () => {
    const discards = new DiscardCounter();
    discards.add(2, "no start byte");
    discards.add(3, "bad checksum");
    expect(discards.flush()).toEqual({ type: "discarded", bytes: 5, reason: "no start byte" });
    expect(discards.flush()).toBeUndefined();
    discards.add(1, "bad checksum");
    expect(discards.flush()).toEqual({ type: "discarded", bytes: 1, reason: "bad checksum" });
  });
});
