/**
 * Answers `thea/v1/{deviceId}/cmd/{name}` requests. Every request gets exactly one answer on its
 * MQTT 5 response topic (with its correlation data), or on `…/cmd/{name}/response` when it has
 * none. Whatever a remote party sends — unknown names, bad JSON, wrong shapes, huge payloads, a
 * command that throws or hangs, a retained request — becomes an error answer; none of it can
 * crash the agent. The one request not answered is one whose response topic is not the box's
 * to answer on (topics.ts answerTopicAllowed): it is not run either, only logged and counted.
 */
import { createHash } from "node:crypto";
import type { Service } from "../core/service.ts";
import path from "node:path";
import { messageOf, TheaError } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { CommandResponse } from "../core/api.ts";
import type { IncomingMessage, BrokerConnection } from "../mqtt/connection.ts";
import { publishJson } from "../mqtt/publish.ts";
import type { Routes } from "../mqtt/routes.ts";
import type { DeviceTopics } from "../core/topics.ts";
import type { Command } from "./command.ts";
import { decodeRequest, errorResponse, expiryOf, failure, refusedBeforeRunning } from "./request.ts";
import { AnswerRecord } from "./answerRecord.ts";
import { ResponseCache, type CachedRequest } from "./responseCache.ts";
import { within } from "../../lib/within.ts";

export interface CommandCounters {
  commandsOk: number;
  commandsFailed: number;
  /** Requests not run nor answered: their response topic was outside `reply/…` and `cmd/{name}/response`. */
  replyTopicsRefused: number;
  /** Requests that came as retained messages: answered `retained-command`, not run. */
  retainedCommandsRefused: number;
}

export function newCommandCounters(): CommandCounters {
  return { commandsOk: 0, commandsFailed: 0, replyTopicsRefused: 0, retainedCommandsRefused: 0 };
}

/** What the router needs of the broker connection (a seam for in-process tests). */
export interface RouterConnection {
  publish: BrokerConnection["publish"];
}

export interface CommandRouterOptions {
  broker: RouterConnection;
  /** Where requests come from (`cmd/+`). */
  routes: Routes;
  topics: DeviceTopics;
  commands: readonly Command[];
  log: Logger;
  counters: CommandCounters;
  maxPayloadBytes: number;
  /** A command still running after this is answered with `timeout`. */
  timeoutMs?: number;
  /** More requests than this at once are answered with `busy`. */
  maxConcurrent?: number;
  /** Where the requests of side-effect commands are recorded across restarts (answerRecord.ts); none without. */
  dataDir?: string;
}

// Ten minutes covers a technician's retries, before and after a restart.
const ANSWER_TTL_MS = 10 * 60_000;

export class CommandRouter implements Service {
  readonly #options: CommandRouterOptions;
  readonly #log: Logger;
  readonly #commands: Map<string, Command>;
  readonly #onMessage = (message: IncomingMessage) => this.#track(this.#handle(message));
  /** Requests being handled, so stop() can let their answers go out first. */
  readonly #inFlight = new Set<Promise<void>>();
  // 64 × 32 answers of at most 4 KiB (see responseCache.ts).
  readonly #answers = new ResponseCache({ ttlMs: ANSWER_TTL_MS, maxRequesters: 64, maxPerRequester: 32, maxAnswerBytes: 4096, ranNothing: refusedBeforeRunning });
  readonly #record: AnswerRecord | undefined;
  #unroute: (() => void) | undefined;
  #running = 0;

  constructor(options: CommandRouterOptions) {
    this.#options = options;
    this.#log = options.log.child({ ns: "commands" });
    this.#commands = new Map(options.commands.map((command) => [command.name, command]));
    // As many requests as the cache can hold with side effects (64 × 32), so the record never
    // refuses one the cache would keep; 1 MiB holds that many bare requests (reply topics are at
    // most 256 characters, keys 64), answers beyond it are left out (answerRecord.ts).
    this.#record =
      options.dataDir === undefined
        ? undefined
        : new AnswerRecord({ file: path.join(options.dataDir, "commandAnswers.json"), ttlMs: ANSWER_TTL_MS, maxEntries: 64 * 32, maxBytes: 1024 * 1024, log: this.#log });
  }

  start(): void {
    this.#restoreAnswers();
    // Retain Handling 2: a command left retained on the broker is not sent at every start. Retain
    // As Published: one published retained while we listen still shows its flag, and is refused
    // (#respond) rather than run now and stored for later.
    this.#unroute = this.#options.routes.route(this.#options.topics.commandFilter, this.#onMessage, { retainHandling: 2, retainAsPublished: true });
  }

  /** Takes no more requests, then waits (at most `drainMs`) for the answers of those in flight. */
  async stop(drainMs = 2000): Promise<void> {
    this.#unroute?.();
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
    const { topics, broker, counters } = this.#options;
    const name = topics.commandName(message.topic);
    if (name === undefined) return;
    const replyTo = message.responseTopic ?? topics.commandResponse(name);
    if (!topics.answerTopicAllowed(replyTo, name)) {
      // Publishing there would use the box's own rights on a topic the requester chose (its
      // status, update/desired, a viewer's gone topic). The requester could not read an answer
      // anyway, so the command is not run either.
      counters.replyTopicsRefused += 1;
      this.#log.warn({ command: truncate(name), responseTopic: truncate(replyTo) }, "response topic refused: request not run, not answered");
      return;
    }
    const response = await this.#respond(name, replyTo, message);
    if (response.ok) counters.commandsOk += 1;
    else counters.commandsFailed += 1;
    const delivered = await publishJson(broker, replyTo, response, {
      qos: 1,
      correlationData: message.correlationData,
    });
    this.#log.info(
      { command: name, ok: response.ok, code: response.ok ? undefined : response.error.code, delivered },
      "command answered",
    );
  }

  async #respond(name: string, replyTo: string, message: IncomingMessage): Promise<CommandResponse> {
    if (message.retain) {
      // A retained command is stored by the broker and would be sent again to every later
      // subscriber: run it once and it runs at every start of a box that does not filter it.
      this.#options.counters.retainedCommandsRefused += 1;
      this.#log.warn({ command: name }, "retained command refused");
      return failure("retained-command", "a command sent with the retain flag is never run; send it again without").response;
    }
    const expiresAt = expiryOf(message.userProperties);
    // Checks first: a request refused here is not written to the answer record either.
    const checked = (execute: () => Promise<CommandResponse>) => () => {
      if (expiresAt === "invalid") return Promise.resolve(failure("invalid-params", "expires-at: must be an ISO 8601 time").response);
      if (expiresAt !== undefined && expiresAt <= Date.now()) {
        return Promise.resolve(failure("expired", `the request expired at ${new Date(expiresAt).toISOString()}; not run`).response);
      }
      return execute();
    };
    const execute = () => this.#execute(name, message.payload);
    if (!message.correlationData) return checked(execute)();
    // A request id (correlation data) seen before from the same requester gets the same answer;
    // the command does not run twice.
    const request: CachedRequest = {
      requester: this.#options.topics.requesterOfReply(replyTo) ?? replyTo,
      // A digest: a key's length (and the record's) does not depend on what a requester sends.
      key: createHash("sha256").update(`${replyTo}\u0000${name}\u0000`).update(message.correlationData).digest("hex"),
      sideEffects: this.#commands.get(name)?.sideEffects ?? false,
    };
    const recorded = async () => this.#settle(request, name, await this.#execute(name, message.payload, request));
    const cached = this.#answers.answer(request, checked(request.sideEffects ? recorded : execute));
    if ("full" in cached) {
      return failure("busy", "too many recent requests from this requester to remember another; try again in a few minutes").response;
    }
    if (cached.repeated) this.#log.info({ command: name }, "repeated request id: answered from the cache");
    return cached.response;
  }

  /**
   * Writes a side-effect request down before it runs (answerRecord.ts): a refusal when there is
   * no room, else nothing.
   */
  async #begin(request: CachedRequest, name: string): Promise<CommandResponse | undefined> {
    const begun = await this.#record?.begin({ requester: request.requester, key: request.key, command: name, at: Date.now() }).catch((error: unknown) => {
      // A box whose disk fails must still be restartable from afar: run, protected in memory only.
      this.#log.error({ command: name, err: messageOf(error) }, "cannot record the request; running it unrecorded");
      return true;
    });
    if (begun === false) return failure("busy", "too many recent requests with side effects to record another; try again in a few minutes").response;
    return undefined;
  }

  /** Writes its answer down, or strikes it off when it did nothing (a retry may then run it). */
  async #settle(request: CachedRequest, name: string, response: CommandResponse): Promise<CommandResponse> {
    const record = this.#record;
    if (!record) return response;
    const noted = { requester: request.requester, key: request.key };
    const write = refusedBeforeRunning(response) ? record.forget(noted) : record.settle(noted, response);
    await write.catch((error: unknown) => this.#log.error({ command: name, err: messageOf(error) }, "cannot record the answer"));
    return response;
  }

  /** Answers recorded before a restart, for their retries; one cut short gets a stand-in. */
  #restoreAnswers(): void {
    if (!this.#record) return;
    let restored = 0;
    for (const recorded of this.#record.load()) {
      const command = this.#commands.get(recorded.command);
      const answer = recorded.response ?? (command?.resultIfInterrupted !== undefined ? { ok: true as const, result: command.resultIfInterrupted } : undefined);
      const response =
        answer ?? failure("repeated-request", `this request id already started ${recorded.command} before the agent restarted, and its answer was not kept. Send a new request id to run it again`).response;
      if (this.#answers.restore({ requester: recorded.requester, key: recorded.key, sideEffects: true }, recorded.at, response)) restored += 1;
    }
    if (restored > 0) this.#log.info({ restored }, "answers to recent side-effect requests restored");
  }

  /** Runs a command; one given `recordAs` is written to the answer record first, if its parameters pass. */
  async #execute(name: string, payload: Buffer, recordAs?: CachedRequest): Promise<CommandResponse> {
    const command = this.#commands.get(name);
    if (!command) return failure("unknown-command", `no command named "${truncate(name)}"`).response;
    const request = decodeRequest(payload, this.#options.maxPayloadBytes);
    if (!request.ok) return request.response;
    if (this.#running >= (this.#options.maxConcurrent ?? 8)) {
      return failure("busy", "too many commands running; try again shortly").response;
    }
    this.#running += 1;
    try {
      if (recordAs) {
        // Within the concurrency bound, and after the shape check: a flood of requests that
        // cannot run costs no disk writes.
        command.check(request.params);
        const refused = await this.#begin(recordAs, name);
        if (refused) return refused;
      }
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
