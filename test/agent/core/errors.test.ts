/**
 * The agent's one error type: its code is what crosses the MQTT boundary in an error answer, so
 * it must survive being thrown and caught, and anything else thrown still gives a message.
 */
import { describe, expect, it } from "vitest";
import { ErrorCodes, isTheaError, messageOf, TheaError } from "../../../agent/core/errors.ts";

describe("TheaError", () => {
  it("carries its code, message and cause through a throw", () => {
    const cause = new Error("ENOENT");
    let caught: unknown;
    try {
      throw new TheaError("config-unreadable", "cannot read /etc/thea/thea.yaml", { cause });
    } catch (error) {
      caught = error;
    }
    expect(isTheaError(caught)).toBe(true);
    expect(caught).toMatchObject({ name: "TheaError", code: "config-unreadable", message: "cannot read /etc/thea/thea.yaml", cause });
  });

  it("is told apart from other errors, and from look-alike objects off the wire", () => {
    expect(isTheaError(new Error("plain"))).toBe(false);
    expect(isTheaError({ name: "TheaError", code: "busy", message: "forged" })).toBe(false);
  });

  it("has each code once, so an operator's tooling can switch on it", () => {
    expect(new Set(ErrorCodes).size).toBe(ErrorCodes.length);
    for (const code of ErrorCodes) expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/);
  });
});

describe("messageOf", () => {
  it("gives an error's message, and anything else thrown as text", () => {
    expect(messageOf(new TheaError("timeout", "no answer in 5 s"))).toBe("no answer in 5 s");
    expect(messageOf("plain string")).toBe("plain string");
    expect(messageOf(42)).toBe("42");
    expect(messageOf(undefined)).toBe("undefined");
  });
});
