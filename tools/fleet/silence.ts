/**
 * When a box that says it is alive stops saying so (issue 16: "a box that dies appears offline
 * within its keep-alive + 5 s"). A box whose online `status` carries `keepaliveSec` publishes
 * `alive` at that cadence (agent/telemetry/alive.ts); silent for more than keepaliveSec + 5 s, it
 * is taken for offline without waiting for the broker's will, which comes only after 1.5 × the
 * keep-alive (MQTT 5 §3.1.2.10) and mosquitto's own delay on top (docs/fleet.md, Figures).
 *
 * In memory only, and pure: 2,050 boxes at 30 s are ~70 heartbeats a second, each only a time
 * set here; fleet.ts writes nothing until a box crosses the line one way or the other.
 */

/** Issue 16's margin over the keep-alive: a heartbeat late by a loaded link's few seconds is not a death. */
export const SILENCE_GRACE_MS = 5_000;

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

  /** The boxes among `isOnline` silent for longer than their keep-alive + 5 s at `nowMs`, each counted as one more silence. */
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
