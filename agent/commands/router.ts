/**
 * Answers `thea/v1/{deviceId}/cmd/{name}` requests. Every request gets exactly one answer on its
 * MQTT 5 response topic (with its correlation data), or on `…/cmd/{name}/response` when it has
 * none. Whatever a remote party sends — unknown names, bad JSON, wrong shapes, huge payloads, a
 * command that throws or hangs — becomes an error answer; none of it can crash the agent.
 */
import { messageOf, TheaError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { CommandResponse } from "../mqtt/api.ts";
import type { IncomingMessage, MqttSession } from "../mqtt/session.ts";
import type { DeviceTopics } from "../mqtt/topics.ts";
import type { Command } from "./command.ts";
import { decodeRequest, errorResponse, expiryOf, failure } from "./request.ts";
import { ResponseCache } from "./responseCache.ts";
import { within } from "../within.ts";

export interface CommandCounters {
  commandsOk: number;
  commandsFailed: number;
}

export function newCommandCounters(): CommandCounters {
  return { commandsOk: 0, commandsFailed: 0 };
}

export interface CommandRouterOptions {
  session: MqttSession;
  topics: DeviceTopics;
  commands: readonly Command[];
  log: Logger;
  counters: CommandCounters;
  maxPayloadBytes: number;
  /** A command still running after this is answered with `timeout`. */
  timeoutMs?: number;
  /** More requests than this at once are answered with `busy`. */
  maxConcurrent?: number;
}

export class CommandRouter {
  readonly #options: CommandRouterOptions;
  readonly #log: Logger;
  readonly #commands: Map<string, Command>;
  readonly #onMessage = (message: IncomingMessage) => this.#track(this.#handle(message));
  /** Requests being handled, so stop() can let their answers go out first. */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #answers = new ResponseCache({ ttlMs: 10 * 60_000, maxEntries: 512 });
  #running = 0;

  constructor(options: CommandRouterOptions) {
    this.#options = options;
    this.#log = options.log.child({ ns: "commands" });
    this.#commands = new Map(options.commands.map((command) => [command.name, command]));
  }

  start(): void {
    this.#options.session.on("message", this.#onMessage);
    this.#options.session.subscribe(this.#options.topics.commandFilter);
  }

  /** Takes no more requests, then waits (at most `drainMs`) for the answers of those in flight. */
  async stop(drainMs = 2000): Promise<void> {
    this.#options.session.off("message", this.#onMessage);
    await within(Promise.allSettled([...this.#inFlight]), drainMs, []);
  }

  #track(handling: Promise<void>): void {
    this.#inFlight.add(handling);
    const done = () => this.#inFlight.delete(handling);
    handling.then(done, (error: unknown) => {
      done();
      this.#log.error({ err: messageOf(error) }, "answering a command failed");
    });
  }

  async #handle(message: IncomingMessage): Promise<void> {
    const { topics, session } = this.#options;
    const name = topics.commandName(message.topic);
    if (name === undefined) return;
    const expiresAt = expiryOf(message.userProperties);
    const run = () => {
      if (expiresAt === "invalid") return Promise.resolve(failure("invalid-params", "expires-at: must be an ISO 8601 time").response);
      if (expiresAt !== undefined && expiresAt <= Date.now()) {
        return Promise.resolve(failure("expired", `the request expired at ${new Date(expiresAt).toISOString()}; not run`).response);
      }
      return this.#execute(name, message.payload);
    };
    // A request id (correlation data) seen before gets the same answer; the command does not run twice.
    const { response: answer, repeated } = message.correlationData
      ? this.#answers.answer(`${name}\u0000${message.correlationData.toString("hex")}`, run)
      : { response: run(), repeated: false };
    const response = await answer;
    if (repeated) this.#log.info({ command: name }, "repeated request id: answered from the cache");
    if (response.ok) this.#options.counters.commandsOk += 1;
    else this.#options.counters.commandsFailed += 1;
    const replyTo = usableResponseTopic(message.responseTopic) ?? topics.commandResponse(name);
    const delivered = await session.publish(replyTo, JSON.stringify(response), {
      qos: 1,
      correlationData: message.correlationData,
    });
    this.#log.info(
      { command: name, ok: response.ok, code: response.ok ? undefined : response.error.code, delivered },
      "command answered",
    );
  }

  async #execute(name: string, payload: Buffer): Promise<CommandResponse> {
    const command = this.#commands.get(name);
    if (!command) return failure("unknown-command", `no command named "${truncate(name)}"`).response;
    const request = decodeRequest(payload, this.#options.maxPayloadBytes);
    if (!request.ok) return request.response;
    if (this.#running >= (this.#options.maxConcurrent ?? 8)) {
      return failure("busy", "too many commands running; try again shortly").response;
    }
    this.#running += 1;
    try {
      const result = await withDeadline(command.handle(request.params), this.#options.timeoutMs ?? 30_000, name);
      return { ok: true, result: result ?? null };
    } catch (error) {
      if (!(error instanceof TheaError)) this.#log.error({ command: name, err: messageOf(error) }, "command failed");
      return errorResponse(error);
    } finally {
      this.#running -= 1;
    }
  }
}

/** A response topic we can publish to: MQTT forbids wildcards in a publish topic. */
function usableResponseTopic(topic: string | undefined): string | undefined {
  if (topic === undefined || topic === "" || /[+#\u0000]/.test(topic)) return undefined;
  return topic;
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function withDeadline<T>(work: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TheaError("timeout", `${name} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
