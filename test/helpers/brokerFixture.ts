/**
 * The usual set-up of an integration test file: one mosquitto and one watching MQTT client for
 * the file, and per-test clean-ups run in reverse order after each test.
 */
import { afterAll, beforeAll } from "vitest";
import { useCleanups, type Cleanups } from "./cleanups.ts";
import { Mosquitto } from "./mosquitto.ts";
import { TestClient } from "./mqttClient.ts";

export interface BrokerFixture extends Cleanups {
  readonly broker: Mosquitto;
  readonly watcher: TestClient;
}

/** `extraConfig`: lines added to the broker's configuration (Mosquitto.start). */
export function useBroker(extraConfig = ""): BrokerFixture {
  let broker: Mosquitto | undefined;
  let watcher: TestClient | undefined;
  const { cleanup, cleanupNow } = useCleanups();
  beforeAll(async () => {
    broker = await Mosquitto.start(extraConfig);
    watcher = await TestClient.connect(broker.url);
  });
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
    cleanup,
    cleanupNow,
  };
}
