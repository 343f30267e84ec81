/**
 * The fleet service's roster, read at start and again on request (SIGHUP: thea-roster's flow
 * rewrites the file atomically, and the broker reloads its ACL on the same signal). A file that
 * does not read or does not check leaves the roster in force as it was, and every problem is
 * logged: a typo must neither lock the hospital out nor open the fleet to anyone. Reloads run one
 * after another, so an older read never replaces a newer one.
 */
import { readFile } from "node:fs/promises";
import type { Logger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import { parseRoster, RosterError, type Roster } from "../roster/roster.ts";

export type RosterReload = { ok: true; people: number; streamsEnded: number } | { ok: false; problems: readonly string[] };

/** The roster in the file, or every problem with it (a file that cannot be read is one). */
export async function readRoster(file: string): Promise<Roster | RosterError> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    return new RosterError([`cannot read ${file}: ${messageOf(error)}`]);
  }
  try {
    return parseRoster(text);
  } catch (error) {
    if (error instanceof RosterError) return error;
    throw error;
  }
}

/** What a reload swaps the roster of (FleetServer): answers how many event streams it ended. */
export interface RosterHolder {
  setRoster(roster: Roster): number;
}

export interface RosterReloaderOptions {
  file: string;
  log: Logger;
  /** Told each reload's outcome, after the log. */
  onReload?: (outcome: RosterReload) => void;
}

export class RosterReloader {
  readonly #options: RosterReloaderOptions;
  #holder: RosterHolder | undefined;
  /** A request that came before there was a server to give the roster to. */
  #wanted = false;
  #queue: Promise<void> = Promise.resolve();

  constructor(options: RosterReloaderOptions) {
    this.#options = options;
  }

  /** From now on reloads go to `holder`; a request that came earlier is carried out now. */
  attach(holder: RosterHolder): void {
    this.#holder = holder;
    if (this.#wanted) this.request();
  }

  /** Reads the file again, after any reload still under way. */
  request(): void {
    const holder = this.#holder;
    if (holder === undefined) {
      this.#wanted = true;
      return;
    }
    this.#wanted = false;
    this.#queue = this.#queue.then(async () => {
      const outcome = await this.#reload(holder);
      this.#options.onReload?.(outcome);
    }).catch((error: unknown) => this.#options.log.error({ err: messageOf(error) }, "roster reload failed"));
  }

  async #reload(holder: RosterHolder): Promise<RosterReload> {
    const { file, log } = this.#options;
    const roster = await readRoster(file);
    if (roster instanceof RosterError) {
      for (const problem of roster.problems) log.error({ file, problem }, "roster problem");
      log.error({ file, problems: roster.problems.length }, "roster not reloaded: the previous one stays in force");
      return { ok: false, problems: roster.problems };
    }
    const streamsEnded = holder.setRoster(roster);
    log.info({ file, people: roster.people.length, streamsEnded }, "roster reloaded");
    return { ok: true, people: roster.people.length, streamsEnded };
  }
}
