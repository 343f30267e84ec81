/** defineCommand: a command's parameters are checked against its schema before it runs. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineCommand } from "../../../agent/commands/command.ts";

describe("defineCommand", () => {
  const echo = defineCommand({ name: "echo", description: "", params: z.strictObject({ n: z.int() }), run: ({ n }) => n * 2 });

  it("runs with valid parameters", async () => {
    await expect(echo.handle({ n: 2 })).resolves.toBe(4);
  });

  it("rejects parameters of the wrong shape with invalid-params naming the key", async () => {
    await expect(echo.handle({ n: "2" })).rejects.toMatchObject({ code: "invalid-params", message: expect.stringMatching(/^n: /) });
  });
});

describe("defineCommand's check", () => {
  it("refuses bad parameters with invalid-params without running the command, and names every bad key", async () => {
    let runs = 0;
    const inflate = defineCommand({
      name: "bp.start",
      description: "",
      params: z.strictObject({ cuff: z.enum(["adult", "child"]), maxMmHg: z.int().max(300) }),
      sideEffects: true,
      run: () => ++runs,
    });
    expect(() => inflate.check({ cuff: "giant", maxMmHg: 400 })).toThrow(expect.objectContaining({ code: "invalid-params", message: expect.stringMatching(/cuff: .*; maxMmHg: /) }));
    await expect(inflate.handle({ cuff: "adult", maxMmHg: 200, extra: 1 })).rejects.toMatchObject({ code: "invalid-params" });
    expect(runs).toBe(0);
    expect(() => inflate.check({ cuff: "adult", maxMmHg: 200 })).not.toThrow();
    expect(runs).toBe(0);
  });

  it("says whether running twice does harm: only when the command declares side effects", () => {
    const read = defineCommand({ name: "ping", description: "", params: z.strictObject({}), run: () => null });
    const restart = defineCommand({ name: "agent.restart", description: "", params: z.strictObject({}), sideEffects: true, resultIfInterrupted: { restarting: true }, run: () => null });
    expect(read.sideEffects).toBe(false);
    expect("resultIfInterrupted" in read).toBe(false);
    expect(restart).toMatchObject({ sideEffects: true, resultIfInterrupted: { restarting: true } });
  });
});
