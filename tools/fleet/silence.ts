/**
 * When a box that says it is alive stops saying so (issue 16: "a box that dies appears offline
 * within its keep-alive + 5 s"). A box whose online `status` carries `keepaliveSec` publishes
 * `alive` a second inside that (agent/telemetry/alive.ts); unheard for more than keepaliveSec + 4 s,
 * it is taken for offline without waiting for the broker's will, which comes only after 1.5 × the
 * keep-alive (MQTT 5 §3.1.2.10) and mosquitto's own delay on top (docs/fleet.md, Figures).
 *
 * In memory only, and pure: 2,050 boxes at 30 s are ~70 heartbeats a second, each only a time
 * set here; fleet.ts writes nothing until a box crosses the line one way or the other.
 */

/**
 * Unheard this long past the keep-alive, a box is silent. Issue 16 allows 5 s from the death to the
 * page; a box whose last heartbeat left just before it died is seen silent 4 s past its keep-alive,
 * then waits at most for the next check (fleet.ts, every 0.5 s), the stream's batch (0.2 s) and the
 * page's frame. A heartbeat (sent every keep-alive less 1 s) may come 5 s late before it counts.
 */
export const SILENCE_GRACE_MS = 4_000;

interface Heartbeat {
  keepaliveMs: number;
  /** When the service last heard the box (epoch ms, its own clock). */
  heardAt: number;
  /** Silences within this connection: each transition's record is told from the one before. */
  silences: number;
}

export class SilenceWatch {
  readonly #beats = new Map<string, Heartbeat>();

  /** An online status: the box's keep-alive from now on, or none (an agent older than `alive`: the will decides). */
  connected(deviceId: string, keepaliveSec: number | undefined, nowMs: number): void {
    if (keepaliveSec === undefined) this.#beats.delete(deviceId);
    else this.#beats.set(deviceId, { keepaliveMs: keepaliveSec * 1000, heardAt: nowMs, silences: 0 });
  }

  /** An offline status: its connection is over, nothing more to time. */
  disconnected(deviceId: string): void {
    this.#beats.delete(deviceId);
  }

  /** Anything live from the box; false when it is not timed (unknown, or no keep-alive). */
  heard(deviceId: string, nowMs: number): boolean {
    const beat = this.#beats.get(deviceId);
    if (!beat) return false;
    beat.heardAt = nowMs;
    return true;
  }

  /** The boxes among `isOnline` unheard for longer than their keep-alive + SILENCE_GRACE_MS at `nowMs`, each counted as one more silence. */
  silent(nowMs: number, isOnline: (deviceId: string) => boolean): { deviceId: string; heardAt: number; silences: number }[] {
    const found: { deviceId: string; heardAt: number; silences: number }[] = [];
    for (const [deviceId, beat] of this.#beats) {
      if (nowMs - beat.heardAt <= beat.keepaliveMs + SILENCE_GRACE_MS || !isOnline(deviceId)) continue;
      beat.silences += 1;
      found.push({ deviceId, heardAt: beat.heardAt, silences: beat.silences });
    }
    return found;
  }

  /** How many silences this connection has had (the record of its return names the one it ends). */
  silences(deviceId: string): number {
    return this.#beats.get(deviceId)?.silences ?? 0;
  }
}
