/**
 * Waiting for a matching reply (the "waitress" of zigbee-herdsman): a command protocol registers
 * what it expects, every incoming message is offered to the waiters, and a waiter that sees no
 * match in time fails with a timeout. Timers only; no I/O.
 */
export class WaitTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`no ${what} within ${ms} ms`);
    this.name = "WaitTimeout";
  }
}

interface Waiter<Message> {
  match: (message: Message) => boolean;
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class Waitress<Message> {
  readonly #waiters = new Set<Waiter<Message>>();

  waitFor(what: string, match: (message: Message) => boolean, timeoutMs: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter<Message> = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new WaitTimeout(what, timeoutMs));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Offers a message to the waiters; true when one took it. */
  offer(message: Message): boolean {
    for (const waiter of this.#waiters) {
      if (!waiter.match(message)) continue;
      clearTimeout(waiter.timer);
      this.#waiters.delete(waiter);
      waiter.resolve(message);
      return true;
    }
    return false;
  }

  /** Fails every pending wait (the line went away). */
  rejectAll(error: Error): void {
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.#waiters.clear();
  }
}
