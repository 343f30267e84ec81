/**
 * Publishes what the outbox holds. Entries created since the current connection came up (live)
 * go at once; older ones (the backlog of an outage) are replayed oldest first at
 * replayRatePerSec, so a box back from a day offline neither floods a 3G link nor holds up live
 * readings. At most `inFlight` entries await their PUBACK; an entry handed to the MQTT client
 * stays with it across reconnects (it resends), so the outbox and the client never both resend.
 */
import type { Logger } from "../../lib/log.ts";
import type { Service } from "../core/service.ts";
import type { BrokerConnection } from "../mqtt/connection.ts";
import type { Outbox } from "./outbox.ts";
import type { OutboxEntry } from "./store.ts";

export interface SenderSettings {
  replayRatePerSec: number;
  inFlight: number;
}

const TICK_MS = 100;

export class OutboxSender implements Service {
  readonly #outbox: Outbox;
  readonly #broker: BrokerConnection;
  readonly #settings: SenderSettings;
  readonly #log: Logger;
  readonly #inFlight = new Set<number>();
  readonly #onConnected = () => this.#connected();
  readonly #onAdded = () => {
    this.#liveWaiting = true;
    this.#pump();
  };
  readonly #onDegraded = () => this.#rescan();
  /**
   * Whether a lane may hold entries it has not sent: cleared when its query comes back short, set
   * when entries come in or are handed back. An idle box then asks its database nothing at each
   * tick (a profile of a streaming agent had that polling at ~5 % of its CPU).
   */
  #liveWaiting = true;
  #backlogWaiting = true;
  #timer: NodeJS.Timeout | undefined;
  #liveFrom = Number.MAX_SAFE_INTEGER;
  #replayCursor = 0;
  #liveCursor = 0;
  #tokens = 0;
  #replayedSinceReport = 0;
  #reportedAt = Date.now();

  constructor(options: { outbox: Outbox; broker: BrokerConnection; settings: SenderSettings; log: Logger }) {
    this.#outbox = options.outbox;
    this.#broker = options.broker;
    this.#settings = options.settings;
    this.#log = options.log.child({ ns: "outbox" });
  }

  start(): void {
    this.#broker.on("connected", this.#onConnected);
    this.#outbox.on("added", this.#onAdded);
    this.#outbox.on("degraded", this.#onDegraded);
    this.#timer = setInterval(() => {
      const rate = this.#settings.replayRatePerSec;
      this.#tokens = Math.min(rate, this.#tokens + (rate * TICK_MS) / 1000);
      this.#pump();
    }, TICK_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#broker.off("connected", this.#onConnected);
    this.#outbox.off("added", this.#onAdded);
    this.#outbox.off("degraded", this.#onDegraded);
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Replayed entries per second since the previous call (for health). */
  takeReplayRate(now = Date.now()): number {
    const seconds = Math.max(0.001, (now - this.#reportedAt) / 1000);
    const rate = Math.round((this.#replayedSinceReport / seconds) * 10) / 10;
    this.#replayedSinceReport = 0;
    this.#reportedAt = now;
    return rate;
  }

  #connected(): void {
    // Everything stored before this moment is backlog; the live lane starts after it.
    this.#liveFrom = this.#outbox.maxId() + 1;
    this.#liveCursor = this.#liveFrom - 1;
    this.#log.info({ backlogUpTo: this.#liveFrom - 1 }, "connected; replaying the outbox backlog");
    this.#rescan();
  }

  /** Both lanes may have entries again (a new connection, a new store). */
  #rescan(): void {
    this.#liveWaiting = true;
    this.#backlogWaiting = true;
    this.#pump();
  }

  #pump(): void {
    if (!this.#broker.connected) return;
    const room = () => this.#settings.inFlight - this.#inFlight.size;
    if (this.#liveWaiting && room() > 0) {
      const { entries, more } = this.#next(this.#liveCursor, room(), undefined);
      this.#liveWaiting = more;
      for (const entry of entries) {
        this.#liveCursor = entry.id;
        this.#send(entry);
      }
    }
    const budget = Math.min(Math.floor(this.#tokens), room());
    if (this.#backlogWaiting && budget > 0) {
      const { entries, more } = this.#next(this.#replayCursor, budget, this.#liveFrom);
      this.#backlogWaiting = more;
      for (const entry of entries) {
        this.#replayCursor = entry.id;
        this.#tokens -= 1;
        this.#replayedSinceReport += 1;
        this.#send(entry);
      }
    }
  }

  /**
   * Up to `limit` entries after `cursor` not already with the MQTT client; `more` unless the
   * query showed that nothing else is stored after them.
   */
  #next(cursor: number, limit: number, before: number | undefined): { entries: OutboxEntry[]; more: boolean } {
    const asked = limit + this.#inFlight.size;
    const stored = this.#outbox.after(cursor, asked, before);
    const unsent = stored.filter((entry) => !this.#inFlight.has(entry.id));
    return { entries: unsent.slice(0, limit), more: stored.length >= asked || unsent.length > limit };
  }

  #send(entry: OutboxEntry): void {
    this.#inFlight.add(entry.id);
    void this.#broker
      .publish(entry.topic, entry.payload, { qos: 1 }, Number.POSITIVE_INFINITY)
      .then((acknowledged) => {
        this.#inFlight.delete(entry.id);
        if (acknowledged) this.#outbox.acknowledge(entry.id);
        // Not taken (no connection at that moment): step back so it is sent again.
        else if (entry.id < this.#liveFrom) {
          this.#replayCursor = Math.min(this.#replayCursor, entry.id - 1);
          this.#backlogWaiting = true;
        } else {
          this.#liveCursor = Math.min(this.#liveCursor, entry.id - 1);
          this.#liveWaiting = true;
        }
        this.#pump();
      });
  }
}
