/**
 * One headless Chromium and one console server (with its MQTT bridge to the file's broker) for
 * an integration test file, and the way those tests wait on what a page shows.
 */
import { afterAll, beforeAll } from "vitest";
import type { ConsoleServer } from "../../tools/console/server.ts";
import type { BrokerFixture } from "./brokerFixture.ts";
import { Chromium, type Page } from "./chromium.ts";
import { startConsoleServer } from "./consoleServer.ts";
import { waitFor } from "./wait.ts";

export interface BrowserFixture {
  readonly browser: Chromium;
  readonly server: ConsoleServer;
}

export function useBrowser(broker: BrokerFixture): BrowserFixture {
  let browser: Chromium | undefined;
  let server: ConsoleServer | undefined;
  beforeAll(async () => {
    [browser, server] = await Promise.all([Chromium.launch(), startConsoleServer(broker.broker.port)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([browser?.close(), server?.stop()]);
  });
  return {
    get browser() {
      if (!browser) throw new Error("browser not started yet (use it inside a test)");
      return browser;
    },
    get server() {
      if (!server) throw new Error("server not started yet (use it inside a test)");
      return server;
    },
  };
}

/**
 * Probes until `accept` takes the value, pausing between probes in the page (an animation frame,
 * then 100 ms): what the page shows, or what the agent answers, is the event waited on.
 */
export function eventually<T>(page: Page, what: string, probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  let last: T | undefined;
  const described = () => `${what} (last seen: ${JSON.stringify(last) ?? "nothing"})`;
  return waitFor(described, timeoutMs, (done) => {
    let stopped = false;
    void (async () => {
      while (!stopped) {
        const value = await probe();
        last = value;
        if (accept(value)) return done(value);
        await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 100)))");
      }
    })();
    return () => {
      stopped = true;
    };
  });
}

/** Evaluates `expression` in the page until `accept` takes its value (truthy by default). */
export function pageReaches<T>(page: Page, what: string, expression: string, accept: (value: T) => boolean = Boolean): Promise<T> {
  return eventually(page, what, () => page.evaluate<T>(expression), accept);
}
