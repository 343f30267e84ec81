/**
 * A BoxLink (tools/fleet/boxLink.ts) in memory, for the fleet server's action tests: it records
 * every command and desired state it is given, answers commands from a table a test fills (or
 * with `ok: {}`), and can hold answers back until a test releases them, to see what runs at once.
 */
import type { ConfigReported } from "../../agent/core/api.ts";
import type { BoxAnswer, BoxCommand, BoxLink, BoxReport, ReportKind } from "../../tools/fleet/boxLink.ts";

export class FakeBoxLink implements BoxLink {
  readonly commands: BoxCommand[] = [];
  readonly published: Array<{ deviceId: string; kind: ReportKind; payload: string }> = [];
  readonly reports = new Map<string, ConfigReported>();
  readonly desiredText = new Map<string, string>();
  /** Answers by command name; a function sees the request. */
  readonly answers = new Map<string, BoxAnswer | ((request: BoxCommand) => BoxAnswer)>();
  /** When set, reading retained state fails with it (the link down). */
  readFailure: Error | undefined;
  /** While true, commands wait until release() is called. */
  hold = false;
  readonly #held: Array<() => void> = [];

  async command(request: BoxCommand): Promise<BoxAnswer> {
    this.commands.push(request);
    if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
    const answer = this.answers.get(request.name) ?? { ok: true, result: {} };
    return typeof answer === "function" ? answer(request) : answer;
  }

  release(): void {
    for (const resolve of this.#held.splice(0)) resolve();
  }

  get waiting(): number {
    return this.#held.length;
  }

  async setDesired(deviceId: string, kind: ReportKind, payload: string): Promise<void> {
    this.published.push({ deviceId, kind, payload });
    if (kind === "config") this.desiredText.set(deviceId, payload);
  }

  async desired(deviceId: string, kind: ReportKind): Promise<string | undefined> {
    if (this.readFailure) throw this.readFailure;
    return kind === "config" ? this.desiredText.get(deviceId) : undefined;
  }

  async reported(deviceId: string, kind: ReportKind): Promise<BoxReport | undefined> {
    if (this.readFailure) throw this.readFailure;
    const payload = kind === "config" ? this.reports.get(deviceId) : undefined;
    return payload && { kind: "config", deviceId, payload };
  }

  async follow(): Promise<() => Promise<void>> {
    return async () => undefined;
  }
}
