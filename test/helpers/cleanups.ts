/**
 * Per-test clean-ups, run in reverse order after each test. Every step runs even when one fails
 * (a failed step must not leave processes or network namespaces behind); the first failure is
 * reported after all have run.
 */
import { afterEach } from "vitest";

export interface Cleanups {
  /** Runs after the current test (last registered, first run). */
  cleanup(step: () => Promise<void> | void): void;
  /** Runs the clean-ups registered so far, now. */
  cleanupNow(): Promise<void>;
}

export function useCleanups(): Cleanups {
  const steps: Array<() => Promise<void> | void> = [];
  const cleanupNow = async () => {
    const failures: unknown[] = [];
    for (const step of steps.splice(0).reverse()) await Promise.resolve().then(step).catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  };
  afterEach(cleanupNow);
  return { cleanup: (step) => void steps.push(step), cleanupNow };
}
