/** Time for the rollout engine: the system's, or a test's that moves only when told (test/helpers/fakeBoxLink.ts). */
export interface Clock {
  now(): number;
  /** Calls `tick` every `ms`; returns how to stop. */
  every(ms: number, tick: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};
