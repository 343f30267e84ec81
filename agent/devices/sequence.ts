/**
 * Reading sequence numbers: strictly increasing for the whole box, across restarts and crashes.
 * A high-water mark is stored a block ahead (temp file, fsync, rename) before numbers up to it are
 * handed out, so after a power cut numbers may skip ahead but never repeat.
 */
import { open, readFile, rename } from "node:fs/promises";
import path from "node:path";

const BLOCK = 1000;

export class SequenceStore {
  #file: string | undefined;
  #next = 1;
  #reservedUpTo = 0;
  #reserving: Promise<void> | undefined;

  constructor(dir: string) {
    this.#file = path.join(dir, "sequence.json");
  }

  /**
   * Loads the stored mark and reserves the next block. If the directory cannot be written,
   * numbering continues in memory from the current time in microseconds (still increasing across
   * restarts while the clock is sane) and `persistent` becomes false.
   */
  async open(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    this.#next = (await readMark(file)) + 1;
    try {
      await this.#reserve();
    } catch {
      this.#file = undefined;
      this.#next = Date.now() * 1000;
    }
  }

  get persistent(): boolean {
    return this.#file !== undefined;
  }

  async next(): Promise<number> {
    while (this.#file !== undefined && this.#next > this.#reservedUpTo) {
      this.#reserving ??= this.#reserve().finally(() => {
        this.#reserving = undefined;
      });
      await this.#reserving;
    }
    const value = this.#next;
    this.#next += 1;
    return value;
  }

  async #reserve(): Promise<void> {
    if (this.#file === undefined) return;
    const target = this.#next + BLOCK - 1;
    const temp = `${this.#file}.tmp`;
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(JSON.stringify({ reservedUpTo: target }));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.#file);
    this.#reservedUpTo = target;
  }
}

async function readMark(file: string): Promise<number> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
    if (parsed !== null && typeof parsed === "object" && "reservedUpTo" in parsed && typeof parsed.reservedUpTo === "number") {
      return parsed.reservedUpTo;
    }
  } catch {
    // First start (no file) or a torn write: the rename below makes writes atomic, so a torn
    // file can only be a foreign one; start from 0 and let the reservation replace it.
  }
  return 0;
}
