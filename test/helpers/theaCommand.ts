/** Runs `bin/thea` as a technician or release manager would: from any directory, with no THEA_* settings of the caller's. */
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { THEA_BIN } from "./agentProcess.ts";

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

export function thea(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const clean = { ...process.env, THEA_MQTT_URL: "", THEA_DEVICE_ID: "", THEA_CONFIG: "", ...env };
    execFile(THEA_BIN, args, { cwd: tmpdir(), env: clean }, (error, stdout, stderr) => {
      const code = error && typeof error.code === "number" ? error.code : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
