/**
 * The update state machine's record on the data disk (`update/state.json`, written atomically at
 * every step), and what `…/update/state` reports. After a power cut the agent resumes from the
 * step it was in (docs/updates.md).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { writeJsonAtomic } from "../../lib/atomicFile.ts";
import type { Manifest } from "./manifest.ts";

// The wire vocabulary of `update/state` lives with the other payload types (core/api.ts).
import { UPDATE_STATES, type UpdateResult, type UpdateStateName } from "../core/api.ts";
export { UPDATE_STATES, type UpdateResult, type UpdateStateName, type UpdateStatePayload } from "../core/api.ts";

export interface UpdateRecord {
  state: UpdateStateName;
  /** The verified manifest being installed (or last installed). */
  target: Manifest | null;
  /** The version running when the restart onto `target` was made. */
  previous: string | null;
  progress: number | null;
  result: UpdateResult | null;
  reason: string | null;
  since: string;
  /**
   * What is never retried: digests of bundles finished with (installed, failed, rolled back), and
   * fingerprints ("manifest:…") of manifests refused for what they say (manifest.ts).
   */
  settled: string[];
}

export const TERMINAL: ReadonlySet<UpdateStateName> = new Set(["idle", "committed", "rolled-back", "failed"]);

export class UpdateStore {
  readonly #file: string;

  constructor(dataDir: string) {
    this.#file = path.join(dataDir, "update", "state.json");
  }

  get dir(): string {
    return path.dirname(this.#file);
  }

  async load(): Promise<UpdateRecord> {
    try {
      const record = JSON.parse(await readFile(this.#file, "utf8")) as UpdateRecord;
      if ((UPDATE_STATES as readonly string[]).includes(record.state)) return { ...record, settled: record.settled ?? [] };
    } catch {
      // absent or unreadable: nothing was in progress that we can know of
    }
    return { state: "idle", target: null, previous: null, progress: null, result: null, reason: null, since: new Date().toISOString(), settled: [] };
  }

  async save(record: UpdateRecord): Promise<void> {
    await writeJsonAtomic(this.#file, record);
  }
}
