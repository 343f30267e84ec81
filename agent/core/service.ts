/**
 * The one lifecycle every service of the composition root has (STYLE.md, after zigbee2mqtt):
 * constructors only assign, `start()` begins the work, `stop()` undoes what `start()` did —
 * timers cleared, listeners removed, files closed.
 */
export interface Service {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** A service that takes a live configuration change without a restart. */
export interface Reconfigurable<Settings = void> {
  reconfigure(settings: Settings): Promise<void> | void;
}

/** One departure from "stop in the reverse order of start", with the reason written down. */
export interface StopException {
  /** The service whose stop moves. */
  service: Service;
  /** It stops right after this one. */
  after: Service;
  why: string;
}

/**
 * The order of stopping: the start order reversed, then each exception's service moved to just
 * after the one it names. A service named twice, or an exception naming a service not in the
 * list, is a wiring mistake and throws at construction.
 */
export function stopOrder<S extends Service>(started: readonly S[], exceptions: readonly StopException[] = []): S[] {
  if (new Set(started).size !== started.length) throw new Error("a service is listed twice");
  const order = [...started].reverse();
  for (const { service, after } of exceptions) {
    const from = order.findIndex((listed) => listed === service);
    if (from < 0 || !order.some((listed) => listed === after) || service === after) throw new Error("a stop exception names a service not in the list");
    const [moved] = order.splice(from, 1);
    if (moved) order.splice(order.findIndex((listed) => listed === after) + 1, 0, moved);
  }
  return order;
}

/** Starts each service in turn, each once the previous one's start has settled. */
export async function startInOrder(services: readonly Service[]): Promise<void> {
  for (const service of services) await service.start();
}

/**
 * Stops each service in turn, each once the previous one's stop has settled. One that fails to
 * stop does not keep the others running (the outbox must still close, the connection still say
 * goodbye): every stop is tried, and the failures are thrown together at the end.
 */
export async function stopInOrder(services: readonly Service[]): Promise<void> {
  const failures: unknown[] = [];
  for (const service of services) {
    try {
      await service.stop();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} services failed to stop`);
}
