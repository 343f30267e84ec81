/**
 * Answers to recent requests, so that a retry gets the first answer instead of running the
 * command again — even while it still runs (a retried reboot must not reboot twice).
 *
 * A request is known by who asked (the requester: its reply topic's requester id, or the default
 * answer topic) and, within that, by its key (answer topic, command, MQTT 5 correlation data).
 * The bound, and why one requester cannot flush another's answers:
 * - each requester has its own bucket of at most `maxPerRequester` answers: a flood of pings
 *   evicts only the flooder's own older answers;
 * - at most `maxRequesters` buckets: a flood under ever new requester ids evicts whole buckets,
 *   least recently used first, but only buckets holding no answer of a command with side effects;
 * - an answer of a command with side effects is never evicted before its time to live. When it
 *   cannot be kept (its bucket, or every bucket, is full of them), the command is refused (`full`)
 *   rather than run unprotected; a command without side effects then just runs, unremembered.
 * - an answer that says the command was refused before doing anything (`ranNothing`: bad JSON,
 *   bad parameters, …) stops counting as one with side effects once it is known.
 * - bytes: an answer without side effects longer than `maxAnswerBytes` (as JSON) is not kept once
 *   known — a repeat of `logs.tail` or `diagnostics.collect` (100–300 KB) simply runs again; one
 *   with side effects that long is kept as a short stand-in (`repeated-request`) instead, since it
 *   must still not run twice. Keys are fixed-length digests (router.ts).
 * So memory is at most maxRequesters × maxPerRequester answers of at most maxAnswerBytes each
 * (64 × 32 × 4 KiB = 8 MiB with the router's figures, whatever the commands answer; answers
 * still being worked out are bounded by the router's concurrency), and the only way to be refused
 * is to have run (or be running) that many side-effect commands within the time to live.
 */
import type { CommandResponse } from "../core/api.ts";
import { failure } from "./request.ts";

export interface CachedRequest {
  /** Who asked: a reply topic's requester id, or the default answer topic. */
  requester: string;
  /** The request within the requester's answers. */
  key: string;
  /** Its answer must outlive any flood (Command.sideEffects). */
  sideEffects: boolean;
}

export type CachedAnswer = { response: Promise<CommandResponse>; repeated: boolean } | { full: true };

interface Entry {
  at: number;
  /** Replaced by its settled value (or a stand-in) once known, so a long answer is not held. */
  response: Promise<CommandResponse>;
  /** Cleared when the answer shows nothing was done (see `ranNothing`). */
  sideEffects: boolean;
}

interface Bucket {
  /** Insertion order is age order. */
  entries: Map<string, Entry>;
  /** How many of `entries` have side effects: such a bucket is never evicted whole. */
  pinned: number;
}

export class ResponseCache {
  readonly #ttlMs: number;
  readonly #maxRequesters: number;
  readonly #maxPerRequester: number;
  readonly #maxAnswerBytes: number;
  readonly #now: () => number;
  readonly #ranNothing: (response: CommandResponse) => boolean;
  /** Map order is least recently used first. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: {
    ttlMs: number;
    maxRequesters: number;
    maxPerRequester: number;
    /** Longest answer (JSON bytes) kept; see the header. */
    maxAnswerBytes?: number;
    /** Whether an answer says the command was refused before it did anything. */
    ranNothing?: (response: CommandResponse) => boolean;
    now?: () => number;
  }) {
    this.#ttlMs = options.ttlMs;
    this.#ranNothing = options.ranNothing ?? (() => false);
    this.#maxRequesters = options.maxRequesters;
    this.#maxPerRequester = options.maxPerRequester;
    this.#maxAnswerBytes = options.maxAnswerBytes ?? 4096;
    this.#now = options.now ?? Date.now;
  }

  /** The answer already given (or being worked out) for `request`, else runs `work` and keeps its answer. */
  answer(request: CachedRequest, work: () => Promise<CommandResponse>): CachedAnswer {
    const now = this.#now();
    let bucket = this.#buckets.get(request.requester);
    if (bucket) {
      this.#expire(bucket, now);
      const known = bucket.entries.get(request.key);
      if (known) return { response: known.response, repeated: true };
    } else if (this.#buckets.size < this.#maxRequesters || this.#evictBucket(now)) {
      bucket = { entries: new Map(), pinned: 0 };
    }
    if (!bucket || !this.#makeRoom(bucket)) {
      return request.sideEffects ? { full: true } : { response: work(), repeated: false };
    }
    const response = work();
    const entry: Entry = { at: now, response, sideEffects: request.sideEffects };
    bucket.entries.set(request.key, entry);
    if (request.sideEffects) bucket.pinned += 1;
    const held = bucket;
    void response.then((answer) => this.#settled(held, request.key, entry, answer), () => undefined); // the router awaits the same promise and answers its failure
    // Most recently used last.
    this.#buckets.delete(request.requester);
    this.#buckets.set(request.requester, bucket);
    return { response, repeated: false };
  }

  /**
   * An answer recorded before a restart (answerRecord.ts): kept like one with side effects, with
   * its original age. False when it has expired or there is no room for it.
   */
  restore(request: CachedRequest, at: number, answer: CommandResponse): boolean {
    const now = this.#now();
    if (now - at >= this.#ttlMs) return false;
    let bucket = this.#buckets.get(request.requester);
    if (!bucket && (this.#buckets.size < this.#maxRequesters || this.#evictBucket(now))) {
      bucket = { entries: new Map(), pinned: 0 };
      this.#buckets.set(request.requester, bucket);
    }
    const kept = this.#bounded(answer, true);
    if (!kept || !bucket || bucket.entries.has(request.key) || !this.#makeRoom(bucket)) return false;
    bucket.entries.set(request.key, { at, response: Promise.resolve(kept), sideEffects: true });
    bucket.pinned += 1;
    return true;
  }

  #settled(bucket: Bucket, key: string, entry: Entry, answer: CommandResponse): void {
    if (bucket.entries.get(key) !== entry) return; // expired or evicted since
    if (entry.sideEffects && this.#ranNothing(answer)) {
      // It may now be evicted like any other answer.
      entry.sideEffects = false;
      bucket.pinned -= 1;
    }
    const kept = this.#bounded(answer, entry.sideEffects);
    if (kept) entry.response = Promise.resolve(kept);
    else bucket.entries.delete(key);
  }

  /** The answer to hold for a repeat: itself if short, else a stand-in (side effects) or none. */
  #bounded(answer: CommandResponse, sideEffects: boolean): CommandResponse | undefined {
    if (Buffer.byteLength(JSON.stringify(answer)) <= this.#maxAnswerBytes) return answer;
    if (!sideEffects) return undefined;
    return failure("repeated-request", "this request id already ran; its answer was too long to keep. Send a new request id to run the command again").response;
  }

  /** Room for one more entry in `bucket`, evicting its oldest answer without side effects if need be. */
  #makeRoom(bucket: Bucket): boolean {
    if (bucket.entries.size < this.#maxPerRequester) return true;
    for (const [key, entry] of bucket.entries) {
      if (entry.sideEffects) continue;
      bucket.entries.delete(key);
      return true;
    }
    return false;
  }

  /** Frees a requester slot: drops expired buckets, else the least recently used unpinned one. */
  #evictBucket(now: number): boolean {
    for (const [requester, bucket] of this.#buckets) {
      this.#expire(bucket, now);
      if (bucket.entries.size === 0) this.#buckets.delete(requester);
    }
    if (this.#buckets.size < this.#maxRequesters) return true;
    for (const [requester, bucket] of this.#buckets) {
      if (bucket.pinned > 0) continue;
      this.#buckets.delete(requester);
      return true;
    }
    return false;
  }

  #expire(bucket: Bucket, now: number): void {
    for (const [key, entry] of bucket.entries) {
      if (now - entry.at < this.#ttlMs) break;
      bucket.entries.delete(key);
      if (entry.sideEffects) bucket.pinned -= 1;
    }
  }
}
