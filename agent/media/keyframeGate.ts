/**
 * Whether to force a keyframe now. Browsers repeat picture-loss requests (PLI) every few tens of
 * milliseconds until a keyframe arrives; honouring each would send the encoder into a keyframe
 * storm that itself causes loss. So PLIs force at most one keyframe per interval, while a viewer
 * that has just connected (which can show nothing until the next keyframe) always gets one.
 */
export type KeyframeReason = "picture-loss" | "new-viewer";

export class KeyframeGate {
  readonly #minIntervalMs: number;
  #lastForcedAt = Number.NEGATIVE_INFINITY;

  constructor(minIntervalMs: number) {
    this.#minIntervalMs = minIntervalMs;
  }

  /** True when a keyframe should be forced at `now`; records it. */
  allow(now: number, reason: KeyframeReason): boolean {
    if (reason === "picture-loss" && now - this.#lastForcedAt < this.#minIntervalMs) return false;
    this.#lastForcedAt = now;
    return true;
  }
}
