import { describe, expect, it } from "vitest";
import { configSchema, type CameraConfig } from "../../../config/schema.ts";
import { cameraPipeline, chooseEncoder, clinicalAudioPipeline, talkbackPipeline, videoPipeline } from "../../../agent/media/pipeline.ts";

function camera(yaml: object): CameraConfig {
  const config = configSchema.parse({ mqtt: { url: "mqtt://127.0.0.1" }, cameras: [{ id: "cam1", ...yaml }] });
  const [only] = config.cameras;
  if (!only) throw new Error("no camera");
  return only;
}

describe("choosing the encoder", () => {
  it("takes a hardware H.264 encoder the registry has, else x264enc", () => {
    const cam = camera({ source: { type: "test" } });
    expect(chooseEncoder(cam, new Set()).element).toBe("x264enc");
    expect(chooseEncoder(cam, new Set(["v4l2h264enc", "vaapih264enc"])).element).toBe("vaapih264enc");
    expect(chooseEncoder(cam, new Set(["v4l2h264enc"]))).toMatchObject({ element: "v4l2h264enc", bitrate: undefined });
  });

  it("honours an explicit encoder and the VP8 fallback codec", () => {
    expect(chooseEncoder(camera({ source: { type: "test" }, encoder: "x264enc" }), new Set(["vaapih264enc"])).element).toBe("x264enc");
    expect(chooseEncoder(camera({ source: { type: "test" }, codec: "vp8" }), new Set(["vaapih264enc"]))).toMatchObject({
      codec: "vp8",
      bitrate: { property: "target-bitrate", perKbps: 1000 },
    });
  });
});

describe("the launch string", () => {
  it("encodes a test pattern with x264 for live use and sends RTP to the agent's port", () => {
    const cam = camera({ source: { type: "test", pattern: "ball" }, width: 640, height: 360, framerate: 15, keyframeIntervalSec: 2 });
    const launch = videoPipeline(cam, [{ encoder: chooseEncoder(cam, new Set()), port: 5004 }]);
    expect(launch).toContain("videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=15/1");
    expect(launch).toContain("x264enc name=encoder-h264 tune=zerolatency speed-preset=superfast key-int-max=30 bitrate=1500 option-string=scenecut=0");
    expect(launch).toContain("profile=constrained-baseline");
    expect(launch).toContain("rtph264pay name=payloader-h264 pt=96");
    expect(launch).toMatch(/udpsink host=127\.0\.0\.1 port=5004 sync=false/);
    // The snapshot branch costs nothing until a snapshot opens its valve.
    expect(launch).toContain("split. ! queue max-size-buffers=1 leaky=downstream ! valve name=snapshotValve drop=true ! jpegenc");
  });

  it("reads the picture once and encodes it once per codec in use, each to its own port", () => {
    const cam = camera({ source: { type: "v4l2", device: "/dev/video0" } });
    const launch = videoPipeline(cam, [
      { encoder: chooseEncoder(cam, new Set()), port: 5004 },
      { encoder: chooseEncoder(cam, new Set(), "vp8"), port: 5008 },
    ]);
    expect(launch.match(/v4l2src/g)).toHaveLength(1);
    expect(launch).toMatch(/split\. ! queue [^!]+ ! x264enc name=encoder-h264 .* ! rtph264pay name=payloader-h264 [^!]+ ! udpsink host=127\.0\.0\.1 port=5004 /);
    expect(launch).toMatch(/split\. ! queue [^!]+ ! vp8enc name=encoder-vp8 [^!]+ ! rtpvp8pay name=payloader-vp8 [^!]+ ! udpsink host=127\.0\.0\.1 port=5008 /);
  });

  it("reads a V4L2 camera as raw frames or decodes its MJPEG", () => {
    const raw = camera({ source: { type: "v4l2", device: "/dev/video0" } });
    expect(videoPipeline(raw, [{ encoder: chooseEncoder(raw, new Set()), port: 1 }])).toContain('v4l2src device="/dev/video0" do-timestamp=true ! video/x-raw,width=1280');
    const mjpeg = camera({ source: { type: "v4l2", device: "/dev/video2", format: "mjpeg" } });
    expect(videoPipeline(mjpeg, [{ encoder: chooseEncoder(mjpeg, new Set()), port: 1 }])).toContain("image/jpeg,width=1280,height=720,framerate=30/1 ! jpegdec");
  });

  it("refuses a device path that would add elements to the pipeline", () => {
    expect(() => camera({ source: { type: "v4l2", device: '/dev/video0" ! filesink location="/etc/passwd' } })).toThrow(/must be a \/dev\/… path/);
  });
});

describe("sound", () => {
  it("encodes a test tone or an ALSA microphone to Opus on its own port", () => {
    const test = camera({ source: { type: "test" }, audio: { source: { type: "test" } } });
    const launch = cameraPipeline(test, [{ encoder: chooseEncoder(test, new Set()), port: 5004 }], 5006);
    expect(launch).toContain("udpsink host=127.0.0.1 port=5004");
    expect(launch).toMatch(/audiotestsrc is-live=true .* ! opusenc audio-type=voice frame-size=20 bitrate=32000 ! rtpopuspay pt=111 ! udpsink host=127\.0\.0\.1 port=5006/);
    const mic = camera({ source: { type: "test" }, audio: { source: { type: "alsa", device: "plughw:CARD=USB,DEV=0" }, bitrateKbps: 24 } });
    expect(cameraPipeline(mic, [{ encoder: chooseEncoder(mic, new Set()), port: 1 }], 2)).toContain('alsasrc device="plughw:CARD=USB,DEV=0"');
    expect(() => camera({ source: { type: "test" }, audio: { source: { type: "alsa", device: "hw:0 ! filesink" } } })).toThrow(/ALSA device name/);
  });

  it("sends a stethoscope as its own Opus stream: generic, constant bitrate, no DTX, nothing between the device and the encoder", () => {
    const steth = camera({ source: { type: "test" }, audio: { source: { type: "test" } }, clinicalAudio: { source: { type: "alsa", device: "plughw:CARD=Steth,DEV=0" } } });
    const launch = cameraPipeline(steth, [{ encoder: chooseEncoder(steth, new Set()), port: 5004 }], 5006, 5008);
    expect(launch).toContain("udpsink host=127.0.0.1 port=5006"); // the room's sound stays
    expect(launch).toContain(
      'alsasrc device="plughw:CARD=Steth,DEV=0" ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ! queue max-size-time=100000000 leaky=downstream ! ' +
        "opusenc audio-type=generic bitrate-type=cbr bitrate=96000 bandwidth=fullband frame-size=20 dtx=false inband-fec=false ! rtpopuspay pt=111 ! udpsink host=127.0.0.1 port=5008",
    );
    // No voice processing anywhere in its path.
    const clinical = clinicalAudioPipeline(steth.clinicalAudio ?? expect.fail("no clinicalAudio"), 1);
    for (const element of ["webrtcdsp", "audiodynamic", "audiocheblimit", "audiowsinclimit", "voice"]) expect(clinical).not.toContain(element);
  });

  it("makes test tones and a heartbeat train (1.2 bursts a second) for the stethoscope", () => {
    const tone = camera({ source: { type: "test" }, clinicalAudio: { source: { type: "test", frequencyHz: 30 } } });
    expect(clinicalAudioPipeline(tone.clinicalAudio ?? expect.fail("none"), 1)).toMatch(/^audiotestsrc is-live=true wave=sine freq=30 volume=0\.25 ! /);
    const heart = camera({ source: { type: "test" }, clinicalAudio: { source: { type: "test", wave: "heartbeat", frequencyHz: 40 } } });
    expect(clinicalAudioPipeline(heart.clinicalAudio ?? expect.fail("none"), 1)).toMatch(/^audiotestsrc is-live=true wave=ticks freq=40 tick-interval=833333333 sine-periods-per-tick=4 /);
  });

  it("refuses a stethoscope bitrate under 64 kbit/s", () => {
    expect(() => camera({ source: { type: "test" }, clinicalAudio: { source: { type: "test" }, bitrateKbps: 48 } })).toThrow(/64/);
    expect(camera({ source: { type: "test" }, clinicalAudio: { source: { type: "test" }, bitrateKbps: 64 } }).clinicalAudio?.bitrateKbps).toBe(64);
  });

  it("leaves sound out when the camera has none", () => {
    const silent = camera({ source: { type: "test" } });
    expect(cameraPipeline(silent, [{ encoder: chooseEncoder(silent, new Set()), port: 1 }], undefined)).not.toContain("opusenc");
  });
});

describe("talk-back", () => {
  it("plays the doctor's Opus on an ALSA speaker, or writes it to a WAV file", () => {
    const alsa = camera({ source: { type: "test" }, talkback: { sink: { type: "alsa", device: "plughw:CARD=Speaker" } } });
    expect(talkbackPipeline(alsa.talkback ?? fail(), 6000)).toBe(
      'udpsrc address=127.0.0.1 port=6000 caps="application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111" ! ' +
        'rtpjitterbuffer latency=80 ! rtpopusdepay ! opusdec ! audioconvert ! audioresample ! alsasink device="plughw:CARD=Speaker" sync=false',
    );
    const wav = camera({ source: { type: "test" }, talkback: { sink: { type: "wav", path: "/var/lib/thea/talk.wav" } } });
    expect(talkbackPipeline(wav.talkback ?? fail(), 1)).toMatch(/wavenc ! filesink location="\/var\/lib\/thea\/talk\.wav"$/);
    expect(() => camera({ source: { type: "test" }, talkback: { sink: { type: "wav", path: "relative.wav" } } })).toThrow(/absolute path/);
  });
});

function fail(): never {
  throw new Error("missing");
}

describe("camera settings", () => {
  it("refuses a bitrate range that does not hold its start", () => {
    const result = configSchema.safeParse({
      mqtt: { url: "mqtt://127.0.0.1" },
      cameras: [{ id: "cam1", source: { type: "test" }, bitrateKbps: { min: 800, start: 500, max: 1000 } }],
    });
    expect(result.success).toBe(false);
  });

  it("refuses two cameras with one id and ICE server URLs that are not STUN/TURN", () => {
    const result = configSchema.safeParse({
      mqtt: { url: "mqtt://127.0.0.1" },
      cameras: [
        { id: "cam1", source: { type: "test" } },
        { id: "cam1", source: { type: "test" } },
      ],
      media: { iceServers: [{ urls: "http://example.org" }] },
    });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.issues.map((issue) => issue.path.join("."))).toEqual(["cameras.1.id", "media.iceServers.0.urls"]);
  });
});
