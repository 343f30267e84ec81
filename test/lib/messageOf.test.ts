import { describe, expect, it } from "vitest";
import { messageOf } from "../../lib/messageOf.ts";

describe("messageOf", () => {
  it("gives an Error's message, and anything else thrown as its string", () => {
    expect(messageOf(new RangeError("out of range"))).toBe("out of range");
    expect(messageOf("plain string")).toBe("plain string");
    expect(messageOf(42)).toBe("42");
    expect(messageOf(undefined)).toBe("undefined");
  });
});
