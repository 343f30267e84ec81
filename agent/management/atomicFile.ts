/**
 * Writing a file so that a power cut leaves either the old or the new contents, never a mix:
 * write a temporary file beside it, fsync it, rename it over the old one, fsync the directory.
 */
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";

/** Tells apart the temporary files of writes to one target in flight at once (the last rename wins). */
let writes = 0;

export async function writeFileAtomic(target: string, contents: string | Uint8Array): Promise<void> {
  writes += 1;
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${writes}.tmp`);
  const file = await open(temporary, "w", 0o600);
  try {
    await file.writeFile(contents);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDir(path.dirname(target));
}

/** A state file as indented JSON, its directory made (owner only) if missing. */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  await writeFileAtomic(target, `${JSON.stringify(value, null, 2)}\n`);
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
