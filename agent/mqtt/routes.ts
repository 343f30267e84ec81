/**
 * Topic routing in one place: each handler registers the topic filters it wants; the router
 * subscribes them on the broker connection and hands each incoming message to the handlers whose
 * filter matches it, each handler once. A message no filter matches is logged at debug and dropped.
 */
import { messageOf } from "../core/errors.ts";
import type { Service } from "../core/service.ts";
import type { Logger } from "../../lib/log.ts";
import type { BrokerConnection, IncomingMessage, SubscribeOptions } from "./connection.ts";

export type MessageHandler = (message: IncomingMessage) => void;

/** What a service needs to receive messages: register a filter, and undo it on stop. */
export interface Routes {
  /** Subscribes `filter` and calls `handler` with each message it matches; returns what removes the route. */
  route(filter: string, handler: MessageHandler, options?: SubscribeOptions): () => void;
}

/** What the router needs of the broker connection (a seam for in-process tests). */
export interface RoutedConnection {
  on(event: "message", listener: (message: IncomingMessage) => void): unknown;
  off(event: "message", listener: (message: IncomingMessage) => void): unknown;
  subscribe: BrokerConnection["subscribe"];
}

interface Route {
  filter: string;
  levels: readonly string[];
  handler: MessageHandler;
}

export class TopicRouter implements Routes, Service {
  readonly #broker: RoutedConnection;
  readonly #log: Logger;
  readonly #routes = new Set<Route>();
  readonly #onMessage = (message: IncomingMessage) => this.#dispatch(message);

  constructor(options: { broker: RoutedConnection; log: Logger }) {
    this.#broker = options.broker;
    this.#log = options.log.child({ ns: "mqtt:routes" });
  }

  start(): void {
    this.#broker.on("message", this.#onMessage);
  }

  stop(): void {
    this.#broker.off("message", this.#onMessage);
  }

  route(filter: string, handler: MessageHandler, options: SubscribeOptions = {}): () => void {
    const problem = filterProblem(filter);
    if (problem) throw new Error(`topic filter "${filter}": ${problem}`);
    const route: Route = { filter, levels: filter.split("/"), handler };
    this.#routes.add(route);
    // The subscription stays when the route goes: the connection has no unsubscribe, and a
    // message nobody routes any more is only logged and dropped.
    this.#broker.subscribe(filter, options);
    return () => this.#routes.delete(route);
  }

  #dispatch(message: IncomingMessage): void {
    const topicLevels = message.topic.split("/");
    const handlers = new Set<MessageHandler>();
    for (const route of this.#routes) if (levelsMatch(route.levels, topicLevels)) handlers.add(route.handler);
    if (handlers.size === 0) {
      this.#log.debug({ topic: message.topic }, "no route for message; dropped");
      return;
    }
    for (const handler of handlers) {
      try {
        handler(message);
      } catch (error) {
        // One handler's bug must neither keep the message from the others nor reach the connection.
        this.#log.error({ topic: message.topic, err: messageOf(error) }, "message handler failed");
      }
    }
  }
}

/**
 * Why `filter` is not a valid MQTT topic filter, or undefined when it is (MQTT 3.1.1 §4.7.1 and
 * MQTT 5 §4.7.1: `#` alone in the last level, `+` alone in its level; §4.7.3: at least one
 * character; §1.5.4 / §1.5.3: no NUL).
 */
export function filterProblem(filter: string): string | undefined {
  if (filter.length === 0) return "empty";
  if (filter.includes("\u0000")) return "contains NUL";
  const levels = filter.split("/");
  for (const [index, level] of levels.entries()) {
    if (level.includes("#") && (level !== "#" || index !== levels.length - 1)) return "'#' must be the whole last level";
    if (level.includes("+") && level !== "+") return "'+' must be a whole level";
  }
  return undefined;
}

/** Whether topic name `topic` matches topic filter `filter` (MQTT 5 §4.7). */
export function topicMatches(filter: string, topic: string): boolean {
  return levelsMatch(filter.split("/"), topic.split("/"));
}

function levelsMatch(filter: readonly string[], topic: readonly string[]): boolean {
  // §4.7.2: a filter starting with a wildcard does not match a topic starting with `$`.
  if ((filter[0] === "#" || filter[0] === "+") && topic[0]?.startsWith("$")) return false;
  for (const [index, level] of filter.entries()) {
    // §4.7.1.2: `#` matches its parent level and any number of levels below (`a/#` matches `a`).
    if (level === "#") return true;
    const name = topic[index];
    if (name === undefined) return false;
    // §4.7.1.3: `+` matches exactly one level, an empty one included.
    if (level !== "+" && level !== name) return false;
  }
  return filter.length === topic.length;
}
