/**
 * `thea decode`, as a technician runs it on a capture from a site. The captures are made here
 * from the simulator's bytes, then truncated and garbled on purpose.
 */
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ReadingPayload } from "../../agent/core/api.ts";
import { bytesFromHex } from "../../tools/decode.ts";
import { driverById } from "../../drivers/index.ts";
import { THEA_BIN } from "../helpers/agentProcess.ts";

function thea(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(THEA_BIN, args, (error, stdout, stderr) => resolve({ code: error && typeof error.code === "number" ? error.code : 0, stdout, stderr }));
  });
}

function capture(ticks: number, scenario: "normal" | "garbled"): Uint8Array {
  const simulator = driverById("nonin")?.simulator({}, scenario);
  if (!simulator) throw new Error("nonin driver missing");
  return Uint8Array.from(Array.from({ length: ticks }, (_, tick) => [...simulator.chunk(tick)]).flat());
}

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const target = path.join(await mkdtemp(path.join(tmpdir(), "thea-decode-")), name);
  await writeFile(target, content);
  return target;
}

describe("thea decode", () => {
  it("prints one reading per line in the published shape, from a raw capture cut short", async () => {
    const bytes = capture(6, "normal");
    const truncated = bytes.subarray(0, bytes.length - 40); // the last packet is cut off mid-way
    const result = await thea(["decode", "--driver", "nonin", await file("capture.bin", truncated)]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as ReadingPayload);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ seq: 1, driver: "nonin", kind: "continuous", observations: [{ type: "spo2" }, { type: "pulse_rate" }] });
    expect(result.stderr).toContain("5 reading(s)");
  });

  it("reads hex text with spaces, 0x prefixes and comments, and counts garbled bytes", async () => {
    const bytes = capture(9, "garbled");
    const hex = `# captured at a clinic\n${[...bytes].map((b, i) => (i % 7 === 0 ? `0x${b.toString(16).padStart(2, "0")}` : b.toString(16).padStart(2, "0"))).join(" ")}\n`;
    const result = await thea(["decode", "--driver", "nonin", "--hex", await file("capture.hex", hex)]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n").length).toBeGreaterThanOrEqual(5);
    expect(result.stderr).toMatch(/[1-9]\d* undecodable run\(s\), [1-9]\d* byte\(s\) skipped/);
  });

  it("decodes format #8 when told so through --options", async () => {
    const result = await thea(["decode", "--driver", "nonin", "--options", '{"format":8}', "--hex", await file("f8.hex", "80 48 61 00")]);
    expect(JSON.parse(result.stdout)).toMatchObject({ observations: [{ type: "spo2", value: 97 }, { type: "pulse_rate", value: 72 }] });
  });

  it("refuses an unknown driver or bad options with usage", async () => {
    expect((await thea(["decode", "--driver", "nope", "x"])).code).toBe(2);
    const bad = await thea(["decode", "--driver", "nonin", "--options", '{"format":3}', "x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("options.format: must be 2, 7 or 8");
  });
});

describe("bytesFromHex", () => {
  it("ignores separators, prefixes, comments and a dangling half byte", () => {
    expect([...bytesFromHex("01 8a,0x40\n# 99 99\n0B c")]).toEqual([0x01, 0x8a, 0x40, 0x0b]);
  });
});
