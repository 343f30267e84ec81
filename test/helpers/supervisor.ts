/**
 * What systemd does for thea.service (Restart=always): start the agent, and start it again
 * whenever it exits, until told to stop. For update tests, where the agent restarts itself onto a
 * new release through the launcher.
 */
import { AgentProcess, type AgentProcessOptions } from "./agentProcess.ts";
import { waitFor } from "./wait.ts";

export class Supervisor {
  readonly #options: AgentProcessOptions;
  readonly starts: AgentProcess[] = [];
  readonly #listeners = new Set<() => void>();
  #stopped = false;
  #launching: Promise<void> | undefined;

  private constructor(options: AgentProcessOptions) {
    this.#options = options;
  }

  static async start(options: AgentProcessOptions): Promise<Supervisor> {
    const supervisor = new Supervisor(options);
    await supervisor.#launch();
    return supervisor;
  }

  get current(): AgentProcess {
    const last = this.starts.at(-1);
    if (!last) throw new Error("never started");
    return last;
  }

  /** Resolves when the agent has been started `count` times in all. */
  waitForStarts(count: number, timeoutMs = 60_000): Promise<void> {
    return waitFor(`${count} starts of the agent`, timeoutMs, (done) => {
      const check = () => {
        if (this.starts.length >= count) done(undefined);
      };
      this.#listeners.add(check);
      check();
      return () => this.#listeners.delete(check);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#launching; // a start under way must not outlive the supervisor
    await this.starts.at(-1)?.stop();
  }

  #launch(): Promise<void> {
    this.#launching = (async () => {
      const agent = await AgentProcess.start(this.#options);
      this.starts.push(agent);
      for (const listener of this.#listeners) listener();
      void agent.exited.then(() => {
        if (!this.#stopped) void this.#launch();
      });
    })();
    return this.#launching;
  }
}
