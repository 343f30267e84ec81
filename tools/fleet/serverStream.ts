/**
 * `GET /api/stream`: Server-Sent Events (HTML Living Standard §9.2) carrying the rows that changed.
 * Changes are gathered and sent as one `rows` event per interval, with the counts, so 2,050 boxes
 * reporting cost each page a few events a second however fast they report. Bounded both ways: at
 * most `maxStreams` at once, and `maxStreamsPerPerson` of one person's with a roster (more get a
 * 503: one certificate must not take every stream), and a reader that lets more than `maxQueuedBytes`
 * pile up unread is dropped, not buffered for ever; its page reconnects and reloads the list.
 *
 * Each stream has its reader's view of the fleet (access.ts): a row of a box outside it is never
 * sent, nor a batch at all when none of its boxes changed, and its counts are over its boxes.
 * Readers with the same view share one serialised batch.
 */
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import type { Logger } from "../../lib/log.ts";
import type { ScopedView } from "./access.ts";
import type { BoxRow, FleetCounts, FleetView } from "./model.ts";
import type { Audience } from "./types/audience.ts";

export interface FleetStreamOptions {
  view: FleetView;
  /** How often gathered changes go out (ms); 250 gives a page at most 4 updates a second. */
  intervalMs?: number;
  maxStreams?: number;
  /** Of one person's (a reader with an audience); without a roster only maxStreams applies. */
  maxStreamsPerPerson?: number;
  maxQueuedBytes?: number;
  log?: Logger;
}

/** One batch: the changed rows (a box gone from the view as its id in `removed`) and the counts after it. */
export interface StreamBatch {
  rows: BoxRow[];
  removed: string[];
  counts: FleetCounts;
}

/** Who reads one stream: `key` names their view (their CN, or "*" for the whole fleet without a roster). */
export interface StreamReader {
  key: string;
  view: ScopedView;
  /** The person, when the service has a roster. */
  audience?: Audience;
}

export interface StreamEvents {
  "stream-dropped": [{ remote: string | undefined; queuedBytes: number }];
}

export const DEFAULT_STREAM_INTERVAL_MS = 250;
/** A few operators' tabs and a wall screen or two. */
export const DEFAULT_MAX_STREAMS = 32;
/** A person's few tabs and a wall screen; a quarter of the cap, so one certificate leaves room for others. */
export const DEFAULT_MAX_STREAMS_PER_PERSON = 8;
/** Several full batches of the whole fleet (~1 MB each at 2,050 rows): only a stuck reader gets there. */
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** A comment line this often keeps proxies and NATs from closing a quiet stream. */
const KEEP_ALIVE_MS = 25_000;

export class FleetStreams {
  readonly events = new EventEmitter<StreamEvents>();
  readonly #options: FleetStreamOptions;
  readonly #open = new Map<ServerResponse, StreamReader>();
  readonly #changed = new Set<string>();
  #unsubscribe: (() => void) | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(options: FleetStreamOptions) {
    this.#options = options;
  }

  get open(): number {
    return this.#open.size;
  }

  start(): void {
    this.#unsubscribe = this.#options.view.onChange((ids) => this.#gather(ids));
    this.#keepAlive = setInterval(() => this.#broadcast([...this.#open.keys()], ": keep-alive\n\n"), KEEP_ALIVE_MS);
  }

  stop(): void {
    this.#unsubscribe?.();
    clearTimeout(this.#flushTimer);
    clearInterval(this.#keepAlive);
    for (const response of this.#open.keys()) response.destroy();
    this.#open.clear();
    this.#changed.clear();
  }

  /** Takes a GET on /api/stream for `reader`, or says which cap it met (and writes nothing). */
  accept(response: ServerResponse, reader: StreamReader): "accepted" | "full" | "person-full" {
    if (this.#open.size >= (this.#options.maxStreams ?? DEFAULT_MAX_STREAMS)) return "full";
    if (reader.audience !== undefined) {
      const theirs = [...this.#open.values()].filter((open) => open.key === reader.key).length;
      if (theirs >= (this.#options.maxStreamsPerPerson ?? DEFAULT_MAX_STREAMS_PER_PERSON)) return "person-full";
    }
    this.#open.set(response, reader);
    response.once("close", () => this.#open.delete(response));
    response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" });
    // The browser waits this long before reconnecting after a drop (§9.2.6, "retry").
    response.write("retry: 3000\n\n");
    return "accepted";
  }

  /** Ends the streams of the readers `which` picks (whose view a new roster changed); their pages reconnect. */
  end(which: (reader: StreamReader) => boolean): number {
    let ended = 0;
    for (const [response, reader] of this.#open) {
      if (!which(reader)) continue;
      this.#open.delete(response);
      response.end();
      ended += 1;
    }
    return ended;
  }

  #gather(ids: readonly string[]): void {
    if (this.#open.size === 0) return;
    for (const id of ids) this.#changed.add(id);
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#options.intervalMs ?? DEFAULT_STREAM_INTERVAL_MS);
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const changed = [...this.#changed];
    this.#changed.clear();
    const readers = new Map<string, { view: ScopedView; responses: ServerResponse[] }>();
    for (const [response, reader] of this.#open) {
      const group = readers.get(reader.key);
      if (group) group.responses.push(response);
      else readers.set(reader.key, { view: reader.view, responses: [response] });
    }
    for (const { view, responses } of readers.values()) {
      const batch = batchOf(view, changed);
      // Serialised once for its readers; JSON has no raw newline, so one data line holds it.
      if (batch) this.#broadcast(responses, `event: rows\ndata: ${JSON.stringify(batch)}\n\n`);
    }
  }

  #broadcast(responses: readonly ServerResponse[], message: string): void {
    const max = this.#options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    for (const response of responses) {
      // writableLength counts what this response and its socket hold unsent, past the kernel's
      // buffer. A reader that has caught up takes any one batch, however large; one still behind
      // by more than the cap is stuck, and a queue never holds more than the cap and one batch.
      const queuedBytes = response.writableLength;
      if (queuedBytes > max) {
        this.#open.delete(response);
        const remote = response.socket?.remoteAddress;
        this.#options.log?.warn({ remote, queuedBytes }, "dropped a slow event stream");
        response.destroy();
        this.events.emit("stream-dropped", { remote, queuedBytes });
        continue;
      }
      response.write(message);
    }
  }
}

/** The batch `view` may see of the changed boxes, or nothing when none of them is in its sight. */
function batchOf(view: ScopedView, changed: readonly string[]): StreamBatch | undefined {
  const batch: StreamBatch = { rows: [], removed: [], counts: { total: 0, online: 0, offline: 0, attention: 0, updating: 0 } };
  for (const id of changed) {
    if (!view.sees(id)) continue;
    const row = view.box(id);
    if (row) batch.rows.push(row);
    else batch.removed.push(id);
  }
  if (batch.rows.length === 0 && batch.removed.length === 0) return undefined;
  batch.counts = view.counts();
  return batch;
}
