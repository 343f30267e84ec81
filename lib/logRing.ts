/**
 * The agent's most recent log lines, kept in memory for `logs.tail` and diagnostics bundles: a
 * pino destination beside stdout, bounded by line count and bytes so a chatty driver cannot
 * grow it. Lines are pino's JSON, already redacted.
 */
import { Writable } from "node:stream";

export interface LogLine {
  level: number;
  time: string;
  msg?: string;
  [key: string]: unknown;
}

export interface LogRingOptions {
  maxLines: number;
  maxBytes: number;
}

export class LogRing extends Writable {
  readonly #options: LogRingOptions;
  readonly #lines: string[] = [];
  #bytes = 0;

  constructor(options: LogRingOptions = { maxLines: 2000, maxBytes: 1024 * 1024 }) {
    super({ decodeStrings: false });
    this.#options = options;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    for (const line of String(chunk).split("\n")) if (line.length > 0) this.#keep(line);
    done();
  }

  /** The newest `count` lines at `minLevel` or above (pino numbers: 30 info, 40 warn, …), oldest first. */
  tail(count: number, minLevel = 0): LogLine[] {
    const out: LogLine[] = [];
    for (let i = this.#lines.length - 1; i >= 0 && out.length < count; i--) {
      const line = parseLine(this.#lines[i] ?? "");
      if (line && line.level >= minLevel) out.push(line);
    }
    return out.reverse();
  }

  #keep(line: string): void {
    this.#lines.push(line);
    this.#bytes += line.length;
    while (this.#lines.length > this.#options.maxLines || this.#bytes > this.#options.maxBytes) {
      this.#bytes -= this.#lines.shift()?.length ?? 0;
    }
  }
}

function parseLine(text: string): LogLine | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || !("level" in value) || typeof value.level !== "number") return undefined;
    return value as LogLine;
  } catch {
    return undefined;
  }
}
