/** The pipeline host's IPC gate: only an object with a string `type` is taken as a message, whatever else arrives. */
import { describe, expect, it } from "vitest";
import { isHostMessage, type HostEvent } from "../../../agent/media/hostProtocol.ts";

describe("isHostMessage", () => {
  it("takes an object with a string type", () => {
    expect(isHostMessage<HostEvent>({ type: "playing" })).toBe(true);
    expect(isHostMessage<HostEvent>({ type: "snapshot", id: 1, jpegBase64: "", width: 1, height: 1 })).toBe(true);
  });

  it("refuses anything else a channel can carry, without throwing", () => {
    for (const value of [null, undefined, "playing", 7, [], ["playing"], {}, { type: 1 }, { type: null }, { kind: "playing" }]) {
      expect(isHostMessage<HostEvent>(value)).toBe(false);
    }
  });
});
