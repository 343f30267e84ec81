/**
 * The few lines every framer needs: append chunks, look at bytes ahead, drop what was consumed.
 * Keeps a read offset instead of shifting arrays, compacting only when the dead prefix is large.
 */
export class ByteBuffer {
  #bytes = new Uint8Array(0);
  #start = 0;

  get length(): number {
    return this.#bytes.length - this.#start;
  }

  append(chunk: Uint8Array): void {
    const live = this.#bytes.subarray(this.#start);
    const next = new Uint8Array(live.length + chunk.length);
    next.set(live, 0);
    next.set(chunk, live.length);
    this.#bytes = next;
    this.#start = 0;
  }

  /** The byte `offset` positions ahead (0 = next), or undefined past the end. */
  at(offset: number): number | undefined {
    return this.#bytes[this.#start + offset];
  }

  take(count: number): Uint8Array {
    const out = this.#bytes.slice(this.#start, this.#start + count);
    this.#start += out.length;
    return out;
  }

  skip(count: number): void {
    this.#start = Math.min(this.#bytes.length, this.#start + count);
  }
}

/** Groups consecutive discarded bytes into one event per run, as decoders report them. */
export class DiscardCounter {
  #pending = 0;
  #reason = "";

  /** The first reason of a run is kept: it names the cause; what follows is usually fallout. */
  add(bytes: number, reason: string): void {
    if (this.#pending === 0) this.#reason = reason;
    this.#pending += bytes;
  }

  flush(): { type: "discarded"; bytes: number; reason: string } | undefined {
    if (this.#pending === 0) return undefined;
    const event = { type: "discarded" as const, bytes: this.#pending, reason: this.#reason };
    this.#pending = 0;
    return event;
  }
}
