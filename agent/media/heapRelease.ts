/**
 * A full garbage collection shortly after the last viewer has gone. While video flows, V8 grows
 * its heap and its compiled code and keeps them once the viewers leave; nothing of theirs stays
 * alive (the live heap stayed at 38.7–39.9 MB over 600 open/close cycles), but the room it took
 * did: the agent's RSS grew 18.5–22.8 MB over 1,000 cycles in three runs. With one collection a
 * couple of seconds after the last session ends (by then its sockets and peer connection have
 * closed) it grew 4.1–11.8 MB in four, for one pause per consultation (tens of ms of CPU;
 * docs/media.md, "What watching costs").
 */
import type { Logger } from "../../lib/log.ts";

/** Long enough for a closing session's sockets and timers to let go; short beside a consultation. */
export const RELEASE_DELAY_MS = 2000;

export interface HeapReleaseOptions {
  /** V8's collector (`gc`, which the launcher exposes with --expose-gc); without it nothing happens. */
  collect: (() => void) | undefined;
  log: Logger;
  delayMs?: number;
}

export class HeapRelease {
  readonly #options: HeapReleaseOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HeapReleaseOptions) {
    this.#options = options;
  }

  /** One collection RELEASE_DELAY_MS from now, unless one is already due. */
  schedule(): void {
    const { collect, log } = this.#options;
    if (!collect || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const started = performance.now();
      collect();
      log.debug({ pauseMs: Math.round(performance.now() - started), heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1048576) }, "heap collected after the last viewer left");
    }, this.#options.delayMs ?? RELEASE_DELAY_MS);
    this.#timer.unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
