/**
 * Waiting on events with a deadline; tests never sleep to synchronise. A timeout fails with a
 * message saying what was awaited.
 */
import type { ChildProcess } from "node:child_process";

/** `what` may be a function, for a description of state seen by the time of the timeout. */
export function waitFor<T>(what: string | (() => string), timeoutMs: number, register: (done: (value: T) => void, fail: (error: Error) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanup: () => void = () => undefined;
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "function" ? what() : what}`));
    }, timeoutMs);
    const settle = () => {
      clearTimeout(timer);
      cleanup();
    };
    cleanup = register(
      (value) => {
        settle();
        resolve(value);
      },
      (error) => {
        settle();
        reject(error);
      },
    );
  });
}

/** A promise's outcome, or a timeout naming what it was. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return waitFor<T>(what, timeoutMs, (done, fail) => {
    promise.then(done, fail);
    return () => undefined;
  });
}

/** Collects text lines from a stream and lets a test wait for one that matches. */
export class LineLog {
  readonly lines: string[] = [];
  readonly #waiters = new Set<(line: string) => void>();
  #partial = "";

  push(chunk: Buffer | string): void {
    const parts = (this.#partial + chunk.toString()).split("\n");
    this.#partial = parts.pop() ?? "";
    for (const line of parts) {
      this.lines.push(line);
      for (const waiter of this.#waiters) waiter(line);
    }
  }

  /** Resolves with the first line (from index `from` on) that matches, already seen or yet to come. */
  waitForLine(what: string, match: (line: string) => boolean, timeoutMs = 10_000, from = 0): Promise<string> {
    const seen = this.lines.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return waitFor(what, timeoutMs, (done) => {
      const waiter = (line: string) => {
        if (match(line)) done(line);
      };
      this.#waiters.add(waiter);
      return () => this.#waiters.delete(waiter);
    });
  }

  get text(): string {
    return [...this.lines, this.#partial].join("\n");
  }
}

/** Sends `signal` to a child process and resolves once it has exited (at once if it already has). */
export async function terminate(child: ChildProcess, what: string, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = waitFor<void>(`${what} to exit`, 10_000, (done) => {
    child.once("exit", () => done());
    return () => undefined;
  });
  child.kill(signal);
  await gone;
}
