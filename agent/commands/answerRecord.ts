/**
 * The requests of commands with side effects, on disk, so that a retry after the agent restarted
 * gets the first answer instead of running again (a retried `agent.restart` whose answer the
 * technician never saw must not restart the agent a second time).
 *
 * A request is written down (`begin`) before its command runs, and its answer once known
 * (`settle`); one refused before doing anything is struck off (`forget`). At start the unexpired
 * ones are read back (`load`); one without an answer was cut short by the restart (often the one
 * it asked for) and gets a stand-in answer (router.ts).
 * Bounds: at most `maxEntries` requests and `maxBytes` of JSON; an answer that would not fit is
 * left out (the entry stays, and gets the stand-in), and a new request that would not fit is
 * refused (`begin` returns false) rather than run unprotected. A file larger than `maxBytes`, or
 * unreadable, is not loaded (and is replaced at the next write).
 * One small JSON file written atomically: side-effect commands are rare, and the outbox's
 * database is for readings, with its own lifetime and bounds.
 */
import { readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { messageOf } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { CommandResponse } from "../core/api.ts";
import { writeFileAtomic } from "../../lib/atomicFile.ts";

const recordedSchema = z.object({
  requester: z.string(),
  key: z.string(),
  command: z.string(),
  at: z.number(),
  response: z
    .union([
      z.object({ ok: z.literal(true), result: z.unknown() }),
      z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
    ])
    .optional(),
});
const fileSchema = z.object({ version: z.literal(1), requests: z.array(recordedSchema) });

export type RecordedRequest = z.infer<typeof recordedSchema>;

export interface AnswerRecordOptions {
  file: string;
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
  log: Logger;
  now?: () => number;
}

export class AnswerRecord {
  readonly #options: AnswerRecordOptions;
  readonly #now: () => number;
  /** By requester and key; insertion order is age order. */
  readonly #requests = new Map<string, RecordedRequest>();

  constructor(options: AnswerRecordOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The unexpired requests on disk, oldest first. Synchronous: it runs once, before any request. */
  load(): RecordedRequest[] {
    const { file, maxBytes, log } = this.#options;
    try {
      if (statSync(file).size > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
      const parsed = fileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
      for (const request of parsed.requests.toSorted((a, b) => a.at - b.at)) this.#requests.set(idOf(request), request);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") log.warn({ file, err: messageOf(error) }, "recorded command answers not loaded");
    }
    this.#expire();
    return [...this.#requests.values()];
  }

  /** Writes the request down before it runs; false when there is no room for it. */
  async begin(request: Omit<RecordedRequest, "response">): Promise<boolean> {
    this.#expire();
    if (this.#requests.size >= this.#options.maxEntries) return false;
    this.#requests.set(idOf(request), request);
    if (this.#bytes() > this.#options.maxBytes) {
      this.#requests.delete(idOf(request));
      return false;
    }
    await this.#save();
    return true;
  }

  /** Writes its answer down, unless that would pass the byte bound (then it gets the stand-in). */
  async settle(request: Pick<RecordedRequest, "requester" | "key">, response: CommandResponse): Promise<void> {
    const known = this.#requests.get(idOf(request));
    if (!known) return;
    known.response = response;
    if (this.#bytes() > this.#options.maxBytes) delete known.response;
    await this.#save();
  }

  /** Strikes off a request that did nothing: a retry may run it. */
  async forget(request: Pick<RecordedRequest, "requester" | "key">): Promise<void> {
    if (this.#requests.delete(idOf(request))) await this.#save();
  }

  #expire(): void {
    const now = this.#now();
    for (const [id, request] of this.#requests) {
      if (now - request.at < this.#options.ttlMs) break;
      this.#requests.delete(id);
    }
  }

  #contents(): z.infer<typeof fileSchema> {
    return { version: 1, requests: [...this.#requests.values()] };
  }

  /** The file's size as `#save` writes it. */
  #bytes(): number {
    return Buffer.byteLength(JSON.stringify(this.#contents()));
  }

  /** Compact, so that `#bytes` is the size on disk; the data directory is made at the agent's start. */
  #save(): Promise<void> {
    return writeFileAtomic(this.#options.file, JSON.stringify(this.#contents()));
  }
}

function idOf(request: Pick<RecordedRequest, "requester" | "key">): string {
  return `${request.requester}\u0000${request.key}`;
}
