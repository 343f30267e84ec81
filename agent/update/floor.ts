/**
 * The anti-rollback floor (`update/floor.json` on the data disk): the highest version this box has
 * committed. A manifest below it is refused unless it is a signed, unexpired downgrade
 * (admission.ts). It only ever rises, and only on a commit (docs/updates.md).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { writeJsonAtomic } from "../../lib/atomicFile.ts";
import { compareVersions } from "./manifest.ts";

interface FloorFile {
  version: string;
  since: string;
}

export class FloorStore {
  readonly #file: string;

  constructor(dataDir: string) {
    this.#file = path.join(dataDir, "update", "floor.json");
  }

  /** undefined when no version was ever committed here; throws if the file is there but unreadable. */
  async load(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.#file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const parsed = JSON.parse(text) as Partial<FloorFile>;
    if (typeof parsed.version !== "string") throw new Error(`${this.#file}: no version`);
    return parsed.version;
  }

  /** Raises the floor to `version` if that is higher; returns the floor now in force. */
  async raise(current: string | undefined, version: string, now: Date): Promise<string> {
    if (current !== undefined && compareVersions(version, current) <= 0) return current;
    await writeJsonAtomic(this.#file, { version, since: now.toISOString() } satisfies FloorFile);
    return version;
  }
}
