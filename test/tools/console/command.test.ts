/** `thea console`'s options as an operator types them: a bad one is refused with a plain reason. */
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { THEA_BIN } from "../../helpers/agentProcess.ts";

describe("thea console's options", () => {
  const thea = (args: string[]) =>
    new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(THEA_BIN, ["console", ...args], (error, _stdout, stderr) => resolve({ code: error && typeof error.code === "number" ? error.code : 0, stderr }));
    });

  it.each([
    [["--broker", "ws://127.0.0.1:9001"], "--broker must be mqtt://HOST:PORT or mqtts://HOST:PORT"],
    [["--broker", "mqtt://127.0.0.1:1883", "--cert", "a.crt", "--key", "a.key"], "--cert, --key and --ca are for an mqtts:// broker"],
    [["--broker", "mqtts://127.0.0.1:8883", "--cert", "a.crt"], "--cert and --key go together"],
    [["--broker", "mqtts://127.0.0.1:8883", "--ca", "/nonexistent/ca.crt"], "cannot read --ca /nonexistent/ca.crt"],
    [["--broker", "mqtt://127.0.0.1:1883", "--max-connections", "0"], "--max-connections must be a whole number of 1 or more"],
    [["--broker", "mqtt://127.0.0.1:1883", "--origin", "http://console.local:8080/page"], "--origin must be an http:// or https:// origin"],
  ])("refuses %j with a plain reason", async (args, reason) => {
    const result = await thea(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(reason);
  });
});
