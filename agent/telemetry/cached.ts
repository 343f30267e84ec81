/**
 * Remember an async result for a while. Some health figures cost a helper process (timedatectl)
 * or a walk of sysfs (interfaces, sensors) and change slowly, so one call per TTL.
 * Concurrent callers share one in-flight call.
 */
export function cached<T>(load: () => Promise<T>, ttlMs: number, now: () => number = Date.now): () => Promise<T> {
  let value: { at: number; result: T } | undefined;
  let pending: Promise<T> | undefined;
  return () => {
    if (value && now() - value.at < ttlMs) return Promise.resolve(value.result);
    pending ??= load()
      .then((result) => {
        value = { at: now(), result };
        return result;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
