/**
 * Runs work one piece at a time, in the order given, whatever the earlier pieces did: a command
 * protocol with one command in flight per line (VISCA, A&D) queues its commands here.
 */
export class OneAtATime {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work, work);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
