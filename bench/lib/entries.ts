/**
 * The agent's two entries for the start and footprint benches: the `.ts` sources as development
 * runs them (bin/thea) and the built JavaScript as a release runs it (`thea build` into a scratch
 * folder, then its bin/thea). BENCH_COMPARE_BIN adds more: other trees' bin/thea, comma-separated
 * (an older checkout, or a build whose launcher has other settings), to put side by side.
 */
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import mqtt from "mqtt";
import { THEA_BIN } from "../../test/helpers/agentProcess.ts";

export interface Entry {
  label: string;
  command: string;
}

export async function agentEntries(): Promise<Entry[]> {
  const out = path.join(await mkdtemp(path.join(tmpdir(), "thea-build-")), "build");
  await promisify(execFile)(THEA_BIN, ["build", "--out", out]);
  const compare = process.env.BENCH_COMPARE_BIN;
  return [
    { label: "built JS (production)", command: path.join(out, "bin", "thea") },
    { label: ".ts (development)", command: THEA_BIN },
    ...(compare ?? "").split(",").filter(Boolean).map((command) => ({ label: `compare (${command})`, command })),
  ];
}

/** Resolves once the broker holds a retained `online` status of `deviceId` from a new boot. */
export async function onlineOn(brokerUrl: string, deviceId: string): Promise<void> {
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5 });
  try {
    await new Promise<void>((resolve) => {
      client.on("message", (_topic, payload) => {
        const status = JSON.parse(payload.toString()) as { online?: boolean };
        if (status.online === true) resolve();
      });
      void client.subscribeAsync(`thea/v1/${deviceId}/status`, { qos: 1 });
    });
  } finally {
    await client.endAsync();
  }
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
};
