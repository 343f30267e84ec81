import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real mosquitto brokers and agent processes; each file owns its own
    // broker on a free loopback port, so files may run in parallel on the 2-core machines we have.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    globalSetup: ["test/scratch.ts"],
  },
});
