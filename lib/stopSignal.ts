/**
 * Resolves on the first SIGTERM or SIGINT. Call it before the process says it is up: Node installs
 * a signal handler only once a listener is added, so a signal that arrives earlier takes the
 * default action and kills the process without a clean stop (a test or a script may stop a tool
 * the moment it reads "ready"). Both listeners are removed once one fires.
 */
export function stopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
