/**
 * The remote configuration layer on the data disk (`config/remote.json`), written atomically.
 * It holds the applied version and layer, and — after a change that needed a restart, until the
 * agent has come back up on it and reached the broker — a trial with the previous (last known
 * good) layer to go back to.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { messageOf } from "../core/errors.ts";
import { writeJsonAtomic } from "../../lib/atomicFile.ts";
import type { JsonObject } from "./remote.ts";

export interface AppliedLayer {
  version: number;
  layer: JsonObject;
  appliedAt: string | null;
}

// What config/reported shows of a refusal: its type lives with the payload types (core/api.ts).
import type { ConfigError } from "../core/api.ts";
export type { ConfigError } from "../core/api.ts";

export interface RemoteConfigState {
  applied: AppliedLayer;
  /** Present while a restart-requiring change is on probation. */
  trial: { previous: AppliedLayer; since: string; starts: number } | null;
  lastError: ConfigError | null;
  /**
   * Desired versions at or below this are not applied: one that was undone (its retained message
   * would otherwise come back on the next reconnect), or the one retained on the broker when a
   * technician reset the remote layer (config.reset). A refused version never counts here, so one
   * malformed message cannot lock remote configuration out.
   */
  skipUpTo?: number;
}

export const EMPTY_STATE: RemoteConfigState = { applied: { version: 0, layer: {}, appliedAt: null }, trial: null, lastError: null };

export class RemoteConfigStore {
  readonly #file: string;

  constructor(dataDir: string) {
    this.#file = path.join(dataDir, "config", "remote.json");
  }

  get file(): string {
    return this.#file;
  }

  /** The stored state; an absent file is the empty state, an unreadable one is an error value. */
  async load(): Promise<{ ok: true; state: RemoteConfigState } | { ok: false; error: string }> {
    let text: string;
    try {
      text = await readFile(this.#file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, state: structuredClone(EMPTY_STATE) };
      return { ok: false, error: `${this.#file}: ${messageOf(error)}` };
    }
    try {
      const state = JSON.parse(text) as RemoteConfigState;
      if (typeof state.applied?.version !== "number" || typeof state.applied.layer !== "object") throw new Error("not a remote config state");
      return { ok: true, state };
    } catch (error) {
      return { ok: false, error: `${this.#file}: ${messageOf(error)}` };
    }
  }

  async save(state: RemoteConfigState): Promise<void> {
    await writeJsonAtomic(this.#file, state);
  }
}
