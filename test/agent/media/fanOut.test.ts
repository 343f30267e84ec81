import { describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.ts";
import { FanOut, type EncodeControls } from "../../../agent/media/fanOut.ts";
import type { VideoCodec } from "../../../agent/media/pipeline.ts";
import type { MediaKind } from "../../../agent/media/rtpInput.ts";

const log = createLogger({ level: "silent" });

/** An encode that records what the fan-out asks of it. */
function fakeEncode(encoding: VideoCodec[] = ["h264", "vp8"]) {
  const keyframes: VideoCodec[] = [];
  const bitrates: number[] = [];
  const encode: EncodeControls = {
    encodes: (codec) => encoding.includes(codec),
    forceKeyframe: (codec) => keyframes.push(codec),
    setBitrate: (kbps) => bitrates.push(kbps),
  };
  return { encode, keyframes, bitrates };
}

function fanOut(options: { encode?: EncodeControls; maxViewers?: number; clock?: { now: number } } = {}) {
  const clock = options.clock ?? { now: 0 };
  return new FanOut({
    cameraId: "cam1",
    maxViewers: options.maxViewers ?? 4,
    bitrateKbps: { start: 1000, min: 200, max: 2000 },
    keyframeMinIntervalMs: 1000,
    encode: options.encode ?? fakeEncode().encode,
    log,
    now: () => clock.now,
  });
}

/** A viewer's sink that keeps what reaches it. */
function viewer() {
  const got: Array<{ kind: MediaKind; packet: string; newSource: boolean }> = [];
  return { got, sink: (kind: MediaKind, packet: Buffer, newSource: boolean) => got.push({ kind, packet: packet.toString(), newSource }) };
}

describe("the fan-out of a camera's packets", () => {
  it("gives each video packet to the viewers of its codec only, and sound to every viewer", () => {
    const viewers = fanOut();
    const [h264a, h264b, vp8] = [viewer(), viewer(), viewer()];
    viewers.add("a", h264a.sink, "h264");
    viewers.add("b", h264b.sink, "h264");
    viewers.add("c", vp8.sink, "vp8");
    viewers.deliver("h264", Buffer.from("h1"), false);
    viewers.deliver("vp8", Buffer.from("v1"), true);
    viewers.deliver("audio", Buffer.from("a1"), false);
    viewers.deliver("clinical", Buffer.from("s1"), false);
    for (const h264 of [h264a, h264b]) {
      expect(h264.got).toEqual([
        { kind: "video", packet: "h1", newSource: false },
        { kind: "audio", packet: "a1", newSource: false },
        { kind: "clinical", packet: "s1", newSource: false },
      ]);
    }
    expect(vp8.got).toEqual([
      { kind: "video", packet: "v1", newSource: true },
      { kind: "audio", packet: "a1", newSource: false },
      { kind: "clinical", packet: "s1", newSource: false },
    ]);
    expect(viewers.codecs().sort()).toEqual(["h264", "vp8"]);
  });

  it("sends nothing more to a viewer once it is detached", () => {
    const viewers = fanOut();
    const [staying, leaving] = [viewer(), viewer()];
    viewers.add("staying", staying.sink, "h264");
    viewers.add("leaving", leaving.sink, "h264");
    viewers.deliver("h264", Buffer.from("1"), false);
    expect(viewers.remove("leaving")).toBe(true);
    expect(viewers.remove("leaving")).toBe(false);
    viewers.deliver("h264", Buffer.from("2"), false);
    viewers.deliver("audio", Buffer.from("3"), false);
    expect(leaving.got.map((entry) => entry.packet)).toEqual(["1"]);
    expect(staying.got.map((entry) => entry.packet)).toEqual(["1", "2", "3"]);
    expect(viewers.size).toBe(1);
  });

  it("refuses a viewer beyond maxViewers with too-many-viewers", () => {
    const viewers = fanOut({ maxViewers: 1 });
    viewers.add("a", viewer().sink, "h264");
    expect(() => viewers.add("b", viewer().sink, "h264")).toThrow(expect.objectContaining({ code: "too-many-viewers" }));
    expect(viewers.has("b")).toBe(false);
  });
});

describe("keyframe requests of several viewers", () => {
  it("merges their picture-loss requests per codec through one gate, and always serves a new viewer", () => {
    const clock = { now: 0 };
    const { encode, keyframes } = fakeEncode();
    const viewers = fanOut({ encode, clock });
    viewers.add("a", viewer().sink, "h264");
    viewers.add("b", viewer().sink, "h264");
    viewers.add("c", viewer().sink, "vp8");
    viewers.viewerKeyframe("a", "picture-loss");
    clock.now = 30;
    viewers.viewerKeyframe("b", "picture-loss"); // same codec within the interval: merged
    viewers.viewerKeyframe("c", "picture-loss"); // the other codec has its own gate
    clock.now = 60;
    viewers.viewerKeyframe("b", "new-viewer"); // a viewer that just connected always gets one
    clock.now = 1100;
    viewers.viewerKeyframe("a", "picture-loss"); // past the interval since the last one forced
    viewers.viewerKeyframe("gone", "picture-loss"); // not a viewer
    expect(keyframes).toEqual(["h264", "vp8", "h264", "h264"]);
    expect(viewers.keyframesForced).toBe(4);
  });

  it("forces none while no pipeline encodes the codec, and does not count that against the gate", () => {
    const encoding: VideoCodec[] = [];
    const { encode, keyframes } = fakeEncode(encoding);
    const viewers = fanOut({ encode });
    viewers.add("a", viewer().sink, "h264");
    viewers.viewerKeyframe("a", "picture-loss");
    encoding.push("h264");
    viewers.viewerKeyframe("a", "picture-loss");
    expect(keyframes).toEqual(["h264"]);
  });
});

describe("bandwidth figures of several viewers", () => {
  it("sets the encode to the lowest figure, within the camera's range, and follows it when that viewer leaves", () => {
    const { encode, bitrates } = fakeEncode();
    const viewers = fanOut({ encode });
    viewers.add("fast", viewer().sink, "h264");
    viewers.add("slow", viewer().sink, "vp8");
    viewers.bandwidth("fast", 1500);
    viewers.bandwidth("slow", 600);
    expect(viewers.bitrateKbps).toBe(600);
    viewers.bandwidth("slow", 50); // below min: clamped
    expect(viewers.bitrateKbps).toBe(200);
    void viewers.remove("slow");
    expect(viewers.bitrateKbps).toBe(1500);
    viewers.bandwidth("fast", 9000); // above max: clamped
    expect(bitrates).toEqual([1500, 600, 200, 1500, 2000]);
  });

  it("ignores changes under 5 %, figures of non-viewers and figures that are not positive", () => {
    const { encode, bitrates } = fakeEncode();
    const viewers = fanOut({ encode });
    viewers.add("a", viewer().sink, "h264");
    viewers.bandwidth("a", 1040); // within the deadband of the start figure (1000)
    viewers.bandwidth("stranger", 300);
    viewers.bandwidth("a", 0);
    viewers.bandwidth("a", Number.NaN);
    expect(bitrates).toEqual([]);
    viewers.bandwidth("a", 1100);
    expect(bitrates).toEqual([1100]);
  });
});
