/**
 * Rebooting the box from afar, carefully: the first `system.reboot` only returns a one-time token;
 * the reboot happens when the token comes back within a minute, and at most once per interval
 * (remembered on disk, so a reboot loop cannot be driven by retries or replays). The reboot
 * itself is `systemctl reboot`, a fixed program with fixed arguments (polkit lets the thea user
 * do it; see systemd/thea-reboot.rules).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { TheaError } from "../core/errors.ts";
import { writeJsonAtomic } from "../../lib/atomicFile.ts";

export interface RebootGuardOptions {
  dataDir: string;
  minIntervalMs: number;
  tokenTtlMs?: number;
  now?: () => number;
}

export class RebootGuard {
  readonly #options: RebootGuardOptions;
  readonly #now: () => number;
  #pending: { token: string; expiresAt: number } | undefined;

  constructor(options: RebootGuardOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Step one: a token to send back. Issuing a new one voids the previous. */
  request(): { confirmToken: string; expiresInSec: number } {
    const ttl = this.#options.tokenTtlMs ?? 60_000;
    this.#pending = { token: randomBytes(12).toString("hex"), expiresAt: this.#now() + ttl };
    return { confirmToken: this.#pending.token, expiresInSec: Math.round(ttl / 1000) };
  }

  /** Step two: checks the token (single use) and the interval, and records the reboot as taken. */
  async confirm(token: string): Promise<void> {
    const pending = this.#pending;
    if (!pending || pending.token !== token || pending.expiresAt < this.#now()) {
      throw new TheaError("invalid-params", "confirmToken: unknown or expired; call system.reboot without it for a new one");
    }
    this.#pending = undefined;
    const last = await this.#lastRebootAt();
    const waitMs = last === undefined ? 0 : last + this.#options.minIntervalMs - this.#now();
    if (waitMs > 0) {
      throw new TheaError("rate-limited", `the box was rebooted remotely at ${new Date(last ?? 0).toISOString()}; next reboot allowed in ${Math.ceil(waitMs / 1000)} s`);
    }
    await writeJsonAtomic(this.#stateFile(), { lastRebootAt: new Date(this.#now()).toISOString() });
  }

  #stateFile(): string {
    return path.join(this.#options.dataDir, "reboot.json");
  }

  async #lastRebootAt(): Promise<number | undefined> {
    try {
      const state: unknown = JSON.parse(await readFile(this.#stateFile(), "utf8"));
      const at = typeof state === "object" && state !== null && "lastRebootAt" in state ? Date.parse(String(state.lastRebootAt)) : Number.NaN;
      return Number.isNaN(at) ? undefined : at;
    } catch {
      return undefined;
    }
  }
}

/** Asks systemd to reboot; resolves when systemctl returned (the reboot follows). */
export function rebootSystem(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("systemctl", ["reboot"], { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`systemctl reboot failed: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
}
