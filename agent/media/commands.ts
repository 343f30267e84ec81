/** The WebRTC signalling commands, camera.snapshot and media.sessions (docs/mqtt-api.md, "Live video"). */
import { z } from "zod";
import { defineCommand, type Command } from "../commands/command.ts";
import { MAX_OFFER_CHARS, type MediaService } from "./service.ts";

const sessionId = z.uuid();

export function mediaCommands(media: MediaService): Command[] {
  return [
    defineCommand({
      name: "webrtc.offer",
      description:
        "Start watching a camera: params {camera, sdp (the browser's offer), viewerId?}; returns {sessionId, sdp (the answer, with the box's candidates)}.",
      params: z.strictObject({
        camera: z.string().min(1).max(64),
        sdp: z.string().min(1).max(MAX_OFFER_CHARS),
        // The viewer's client sets its last will on webrtc/viewers/{viewerId}/gone.
        viewerId: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "must be 1–64 letters, digits, _ or -" })
          .optional(),
      }),
      run: ({ camera, sdp, viewerId }) => media.offer(camera, sdp, viewerId),
    }),
    defineCommand({
      name: "webrtc.candidate",
      description: "A trickled ICE candidate from the viewer: params {sessionId, candidate: {candidate, sdpMid, sdpMLineIndex}}.",
      params: z.strictObject({
        sessionId,
        candidate: z.strictObject({
          candidate: z.string().max(1024),
          sdpMid: z.string().max(64).nullish(),
          sdpMLineIndex: z.int().min(0).max(64).nullish(),
          usernameFragment: z.string().max(256).nullish(),
        }),
      }),
      run: async ({ sessionId: id, candidate }) => {
        // An empty candidate marks the end of the viewer's gathering; werift needs nothing for it.
        if (candidate.candidate !== "") await media.candidate(id, candidate);
        return {};
      },
    }),
    defineCommand({
      name: "webrtc.close",
      description: "Stop watching: params {sessionId}.",
      params: z.strictObject({ sessionId }),
      run: async ({ sessionId: id }) => {
        await media.close(id);
        return {};
      },
    }),
    defineCommand({
      name: "camera.snapshot",
      description: "A JPEG of a camera's current picture (base64), starting the camera briefly if nobody watches: params {camera}.",
      params: z.strictObject({ camera: z.string().min(1).max(64) }),
      run: ({ camera }) => media.snapshot(camera),
    }),
    defineCommand({
      name: "media.sessions",
      description: "Live viewing sessions and every camera's state (pipeline, viewers, bitrate, keyframes forced).",
      params: z.strictObject({}),
      run: () => media.sessions(),
    }),
  ];
}
