/**
 * `thea simulate` as the demo and the tests start it: arguments it cannot act on are refused with
 * its usage and exit 2, before any port is opened; good ones play the device until SIGTERM.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { THEA_BIN } from "../helpers/agentProcess.ts";
import { freePort } from "../helpers/ports.ts";
import { thea } from "../helpers/theaCommand.ts";
import { LineLog, waitFor } from "../helpers/wait.ts";

describe("thea simulate", () => {
  it.each([
    ["an unknown driver", ["nope", "--port", "/dev/null"]],
    ["no driver", ["--port", "/dev/null"]],
    ["no transport", ["nonin"]],
    ["two transports", ["nonin", "--port", "/dev/null", "--tcp-listen", "127.0.0.1:2575"]],
    ["an endpoint that is no HOST:PORT", ["nonin", "--tcp-listen", "nohost"]],
    ["an unknown scenario", ["nonin", "--port", "/dev/null", "--scenario", "storm"]],
    ["options that are not JSON", ["nonin", "--port", "/dev/null", "--options", "{"]],
    ["options the driver refuses", ["nonin", "--port", "/dev/null", "--options", '{"format":3}']],
    ["a speed of 0", ["nonin", "--port", "/dev/null", "--speed", "0"]],
    ["a speed beyond 1000", ["nonin", "--port", "/dev/null", "--speed", "5000"]],
    ["a speed that is no number", ["nonin", "--port", "/dev/null", "--speed", "fast"]],
  ])("refuses %s with its usage and exit 2", async (_label, args) => {
    const result = await thea(["simulate", ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^usage: thea simulate <nonin\|/);
    expect(result.stderr).not.toContain("simulating");
  });

  it("plays a device on a TCP listener until SIGTERM, then exits 0", async () => {
    const port = await freePort();
    const child = spawn(THEA_BIN, ["simulate", "nonin", "--tcp-listen", `127.0.0.1:${port}`, "--options", '{"format":8}'], { stdio: ["ignore", "ignore", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const stderr = new LineLog();
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    try {
      await stderr.waitForLine("the simulator to start", (line) => line === "simulating nonin (normal)", 15_000);
    } finally {
      child.kill("SIGTERM");
    }
    const code = await waitFor<number | null>("the simulator to exit", 10_000, (done) => {
      void exited.then(done);
      return () => undefined;
    });
    expect(code).toBe(0);
  });
});
