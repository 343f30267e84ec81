/** Resolves with the promise's value, or with `otherwise` when it has not settled within `ms` (an infinite `ms` waits). */
export function within<T>(promise: Promise<T>, ms: number, otherwise: T): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(otherwise), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
