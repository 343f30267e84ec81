/**
 * The usual set-up of an integration test file: one mosquitto and one watching MQTT client for
 * the file, and per-test clean-ups run in reverse order after each test.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { Mosquitto } from "./mosquitto.ts";
import { TestClient } from "./mqttClient.ts";

export interface BrokerFixture {
  readonly broker: Mosquitto;
  readonly watcher: TestClient;
  /** Runs after the current test (last registered, first run). */
  cleanup(step: () => Promise<void> | void): void;
  /** Runs the clean-ups registered so far, now. */
  cleanupNow(): Promise<void>;
}

export function useBroker(): BrokerFixture {
  let broker: Mosquitto | undefined;
  let watcher: TestClient | undefined;
  const steps: Array<() => Promise<void> | void> = [];
  // Every step runs even when one fails (a failed step must not leave processes behind); the
  // first failure is reported after all have run.
  const cleanupNow = async () => {
    const failures: unknown[] = [];
    for (const step of steps.splice(0).reverse()) await Promise.resolve().then(step).catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  };
  beforeAll(async () => {
    broker = await Mosquitto.start();
    watcher = await TestClient.connect(broker.url);
  });
  afterEach(cleanupNow);
  afterAll(async () => {
    await watcher?.close();
    await broker?.stop();
  });
  return {
    get broker() {
      if (!broker) throw new Error("broker not started yet (use it inside a test)");
      return broker;
    },
    get watcher() {
      if (!watcher) throw new Error("watcher not connected yet (use it inside a test)");
      return watcher;
    },
    cleanup: (step) => void steps.push(step),
    cleanupNow,
  };
}
