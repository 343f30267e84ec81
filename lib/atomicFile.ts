/**
 * Writing a file so that a power cut leaves either the old or the new contents, never a mix:
 * write a temporary file beside it, fsync it, rename it over the old one, fsync the directory.
 * Writes to one target take turns, so the last one asked for is the one that stays.
 */
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";

/** Tells apart the temporary files of this process (one at a time per target, see `queues`). */
let writes = 0;

/**
 * The write in progress for each target. Without turns, two writes of one state file could
 * finish in either order and an older state land last (a slow fsync for the first is enough).
 */
const queues = new Map<string, Promise<void>>();

export async function writeFileAtomic(target: string, contents: string | Uint8Array): Promise<void> {
  const key = path.resolve(target);
  const before = queues.get(key) ?? Promise.resolve();
  const mine = before.then(() => replace(target, contents));
  // The next writer waits for this one whether it succeeds or not; its failure is the caller's.
  const turn = mine.catch(() => undefined);
  queues.set(key, turn);
  try {
    await mine;
  } finally {
    if (queues.get(key) === turn) queues.delete(key);
  }
}

async function replace(target: string, contents: string | Uint8Array): Promise<void> {
  writes += 1;
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${writes}.tmp`);
  try {
    const file = await open(temporary, "w", 0o600);
    try {
      await file.writeFile(contents);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, target);
  } catch (error) {
    // A full disk must not also fill up with half-written temporary files, one per attempt.
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDir(path.dirname(target));
}

/** A state file as indented JSON, its directory made (owner only) if missing. */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  // The value as it is now: the caller may change its object while the directory is made.
  const json = `${JSON.stringify(value, null, 2)}\n`;
  await makeDir(path.dirname(target));
  await writeFileAtomic(target, json);
}

/**
 * mkdir -p, durably: each directory made is fsynced into its parent, or a power cut could take
 * the new directory, and the state file renamed into it, away with it.
 */
async function makeDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  for (let made = path.resolve(dir); ; made = path.dirname(made)) {
    await syncDir(path.dirname(made));
    if (made === path.resolve(first)) return;
  }
}

/** Makes a rename or unlink in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const directory = await open(dir, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
