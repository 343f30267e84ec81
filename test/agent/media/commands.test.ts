/**
 * The signalling commands' parameters, the first thing a viewer's remote input meets: what the
 * media service is handed, and what is refused with invalid-params before it is touched.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mediaCommands } from "../../../agent/media/commands.ts";
import { MAX_OFFER_CHARS, type MediaService } from "../../../agent/media/service.ts";

function setUp() {
  const calls: unknown[][] = [];
  const media = {
    offer: async (...args: unknown[]) => {
      calls.push(["offer", ...args]);
      return { sessionId: "s", sdp: "answer" };
    },
    candidate: async (...args: unknown[]) => {
      calls.push(["candidate", ...args]);
    },
    close: async (...args: unknown[]) => {
      calls.push(["close", ...args]);
    },
    snapshot: async (...args: unknown[]) => {
      calls.push(["snapshot", ...args]);
      return {};
    },
    sessions: () => ({ sessions: [], cameras: [] }),
  } as unknown as MediaService;
  const commands = mediaCommands(media);
  const run = (name: string, params: unknown) => {
    const command = commands.find((candidate) => candidate.name === name);
    if (!command) throw new Error(`no ${name}`);
    return command.handle(params);
  };
  return { calls, run };
}

describe("media commands", () => {
  it("hands an offer to the media service with its camera, SDP and viewer id", async () => {
    const { calls, run } = setUp();
    await expect(run("webrtc.offer", { camera: "room", sdp: "v=0", viewerId: "doctor_1" })).resolves.toEqual({ sessionId: "s", sdp: "answer" });
    expect(calls).toEqual([["offer", "room", "v=0", "doctor_1"]]);
  });

  it("refuses an oversized offer, a viewer id that is no topic level, and unknown keys, without touching the service", async () => {
    const { calls, run } = setUp();
    await expect(run("webrtc.offer", { camera: "room", sdp: "x".repeat(MAX_OFFER_CHARS + 1) })).rejects.toMatchObject({ code: "invalid-params", message: expect.stringMatching(/^sdp: /) });
    await expect(run("webrtc.offer", { camera: "room", sdp: "v=0", viewerId: "a/#" })).rejects.toMatchObject({ code: "invalid-params", message: expect.stringContaining("must be 1–64 letters, digits, _ or -") });
    await expect(run("webrtc.offer", { camera: "", sdp: "v=0" })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("webrtc.offer", { camera: "room", sdp: "v=0", iceServers: [] })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("webrtc.close", { sessionId: "../other" })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("camera.snapshot", { camera: "c".repeat(65) })).rejects.toMatchObject({ code: "invalid-params" });
    expect(calls).toEqual([]);
  });

  it("passes a trickled candidate on, and takes the empty end-of-candidates one without passing it", async () => {
    const { calls, run } = setUp();
    const sessionId = randomUUID();
    const candidate = { candidate: "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
    await expect(run("webrtc.candidate", { sessionId, candidate })).resolves.toEqual({});
    await expect(run("webrtc.candidate", { sessionId, candidate: { candidate: "", sdpMid: null } })).resolves.toEqual({});
    expect(calls).toEqual([["candidate", sessionId, candidate]]);
    await expect(run("webrtc.candidate", { sessionId, candidate: { candidate: "x".repeat(1025) } })).rejects.toMatchObject({ code: "invalid-params" });
  });

  it("closes a session by its id", async () => {
    const { calls, run } = setUp();
    const sessionId = randomUUID();
    await expect(run("webrtc.close", { sessionId })).resolves.toEqual({});
    expect(calls).toEqual([["close", sessionId]]);
  });
});
