/**
 * Every message on one topic, in order, from the moment it is opened: for tests that wait for a
 * sequence of states. A wait looks through what came after the last one it returned, then at
 * what comes — so a message that arrives before the test starts waiting is not missed (the
 * client subscribes once; re-subscribing would not bring a retained message back).
 */
import type { TestClient } from "./mqttClient.ts";
import { waitFor } from "./wait.ts";

export class TopicLog<T> {
  readonly messages: T[] = [];
  readonly #arrivals = new Set<() => void>();
  #cursor = 0;

  private constructor() {}

  static async open<T>(client: TestClient, topic: string): Promise<TopicLog<T>> {
    const log = new TopicLog<T>();
    client.client.on("message", (name, payload) => {
      if (name !== topic || payload.length === 0) return;
      log.messages.push(JSON.parse(payload.toString()) as T);
      for (const arrival of log.#arrivals) arrival();
    });
    await client.client.subscribeAsync(topic, { qos: 1 });
    return log;
  }

  /** The next message (after those already returned) that matches. */
  next(match: (message: T) => boolean, timeoutMs = 60_000): Promise<T> {
    const what = () => `a matching message (seen: ${JSON.stringify(this.messages).slice(-1500)})`;
    return waitFor<T>(what, timeoutMs, (done) => {
      // A match already there settles the wait before register returns its clean-up, so `look`
      // stays registered: once settled it must not move the cursor past the next wait's message.
      let settled = false;
      const look = () => {
        while (!settled && this.#cursor < this.messages.length) {
          const message = this.messages[this.#cursor++];
          if (message !== undefined && match(message)) {
            settled = true;
            return done(message);
          }
        }
      };
      this.#arrivals.add(look);
      look();
      return () => this.#arrivals.delete(look);
    });
  }
}
