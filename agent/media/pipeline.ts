/**
 * GStreamer launch strings for a camera, built from its config: pure, so every variant is
 * unit-tested without GStreamer. The pipeline ends in RTP over loopback UDP; the agent's WebRTC
 * sessions read it from there (see host.ts for why the pipeline runs in its own process).
 */
import type { CameraConfig } from "../../config/schema.ts";

/** Hardware H.264 encoders, best first; `auto` takes the first the GStreamer registry has. */
export const HARDWARE_H264_ENCODERS = ["nvv4l2h264enc", "vaapih264enc", "v4l2h264enc"] as const;

export type H264Encoder = "x264enc" | (typeof HARDWARE_H264_ENCODERS)[number];

/** How the live bitrate is set on the element named `encoder`, or undefined when it cannot be. */
export interface BitrateControl {
  property: string;
  /** Multiply kbit/s by this to get the property's unit. */
  perKbps: number;
}

export type VideoCodec = "h264" | "vp8";

export type EncoderChoice =
  | { codec: "h264"; element: H264Encoder; bitrate: BitrateControl | undefined }
  | { codec: "vp8"; element: "vp8enc"; bitrate: BitrateControl };

/** One encode of the camera's picture, and the loopback port its RTP goes to. */
export interface VideoBranch {
  encoder: EncoderChoice;
  port: number;
}

/** Names of one codec's encoder and payloader in the pipeline, for the pipeline host. */
export function branchElements(codec: VideoCodec): { encoder: string; payloader: string } {
  return { encoder: `encoder-${codec}`, payloader: `payloader-${codec}` };
}

/** RTP payload types the pipeline stamps; the WebRTC sender rewrites them to what was negotiated. */
export const PAYLOAD_TYPE = { h264: 96, vp8: 97, opus: 111 } as const;

/** Small enough for a TURN-relayed path over a VPN without IP fragmentation. */
const RTP_MTU = 1200;

/** The encoder for `codec` (the camera's own by default; the other for a viewer that cannot take it). */
export function chooseEncoder(camera: CameraConfig, available: ReadonlySet<string>, codec: VideoCodec = camera.codec): EncoderChoice {
  if (codec === "vp8") return { codec: "vp8", element: "vp8enc", bitrate: { property: "target-bitrate", perKbps: 1000 } };
  const wanted = camera.encoder === "auto" ? (HARDWARE_H264_ENCODERS.find((name) => available.has(name)) ?? "x264enc") : camera.encoder;
  return { codec: "h264", element: wanted, bitrate: BITRATE_CONTROLS[wanted] };
}

const BITRATE_CONTROLS: Record<H264Encoder, BitrateControl | undefined> = {
  x264enc: { property: "bitrate", perKbps: 1 },
  vaapih264enc: { property: "bitrate", perKbps: 1 },
  nvv4l2h264enc: { property: "bitrate", perKbps: 1000 },
  // v4l2h264enc takes its bitrate through extra-controls, fixed once the pipeline plays.
  v4l2h264enc: undefined,
};

/**
 * The whole pipeline: video (one encode per codec in use), and the room's sound and the
 * stethoscope's when the camera has them, each to its own loopback port.
 */
export function cameraPipeline(camera: CameraConfig, video: readonly VideoBranch[], audioPort: number | undefined, clinicalPort?: number): string {
  const parts = [videoPipeline(camera, video)];
  if (camera.audio && audioPort !== undefined) parts.push(audioPipeline(camera.audio, audioPort));
  if (camera.clinicalAudio && clinicalPort !== undefined) parts.push(clinicalAudioPipeline(camera.clinicalAudio, clinicalPort));
  return parts.join("  ");
}

export function audioPipeline(audio: NonNullable<CameraConfig["audio"]>, rtpPort: number): string {
  const source = audio.source.type === "test" ? "audiotestsrc is-live=true wave=sine freq=440 volume=0.2" : `alsasrc device=${quote(audio.source.device)}`;
  return [
    source,
    "audioconvert",
    "audioresample",
    "audio/x-raw,rate=48000,channels=1",
    "queue max-size-time=100000000 leaky=downstream",
    // 20 ms frames (WebRTC's default packetisation); voice mode for a consultation room.
    `opusenc audio-type=voice frame-size=20 bitrate=${audio.bitrateKbps * 1000}`,
    `rtpopuspay pt=${PAYLOAD_TYPE.opus}`,
    `udpsink host=127.0.0.1 port=${rtpPort} sync=false async=false`,
  ].join(" ! ");
}

/**
 * A stethoscope's sound, kept as it is: nothing between the device and the encoder but format
 * conversion (no webrtcdsp, no audiodynamic, no filter), and Opus in its generic mode
 * (OPUS_APPLICATION_AUDIO), where libopus filters nothing but DC (a 3 Hz reject); its voice mode
 * (OPUS_APPLICATION_VOIP) adds a high-pass from 60 Hz up that would take a heart's S3/S4 away.
 * Constant bitrate with no DTX: the quiet between heartbeats is neither thinned nor cut.
 */
export function clinicalAudioPipeline(clinical: NonNullable<CameraConfig["clinicalAudio"]>, rtpPort: number): string {
  return [
    clinicalSource(clinical.source),
    "audioconvert",
    "audioresample",
    "audio/x-raw,rate=48000,channels=1",
    "queue max-size-time=100000000 leaky=downstream",
    `opusenc audio-type=generic bitrate-type=cbr bitrate=${clinical.bitrateKbps * 1000} bandwidth=fullband frame-size=20 dtx=false inband-fec=false`,
    `rtpopuspay pt=${PAYLOAD_TYPE.opus}`,
    `udpsink host=127.0.0.1 port=${rtpPort} sync=false async=false`,
  ].join(" ! ");
}

function clinicalSource(source: NonNullable<CameraConfig["clinicalAudio"]>["source"]): string {
  if (source.type === "alsa") return `alsasrc device=${quote(source.device)}`;
  // A heartbeat is a few cycles of the tone per beat: a low thump like S1/S2 through a bell.
  return source.wave === "heartbeat"
    ? `audiotestsrc is-live=true wave=ticks freq=${source.frequencyHz} tick-interval=${Math.round(60e9 / source.beatsPerMinute)} sine-periods-per-tick=4 volume=0.5`
    : `audiotestsrc is-live=true wave=sine freq=${source.frequencyHz} volume=0.25`;
}

/** The doctor's voice: Opus RTP from the agent on a loopback port, to the clinic's speaker. */
export function talkbackPipeline(talkback: NonNullable<CameraConfig["talkback"]>, rtpPort: number): string {
  const { sink } = talkback;
  return [
    `udpsrc address=127.0.0.1 port=${rtpPort} caps="application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=${PAYLOAD_TYPE.opus}"`,
    // Enough to smooth a poor uplink's jitter without making a conversation awkward.
    "rtpjitterbuffer latency=80",
    "rtpopusdepay",
    "opusdec",
    "audioconvert",
    "audioresample",
    sink.type === "alsa" ? `alsasink device=${quote(sink.device)} sync=false` : `wavenc ! filesink location=${quote(sink.path)}`,
  ].join(" ! ");
}

/**
 * The picture, read once and split by a tee: one branch per codec in use (a V4L2 device can be
 * opened only once, so a second codec is a second encoder here, not a second pipeline), and the
 * snapshot branch.
 */
export function videoPipeline(camera: CameraConfig, branches: readonly VideoBranch[]): string {
  const { width, height, framerate } = camera;
  const raw = `video/x-raw,width=${width},height=${height},framerate=${framerate}/1`;
  const keyframeFrames = Math.max(1, Math.round(camera.keyframeIntervalSec * framerate));
  const picture = [source(camera, raw), "videoconvert", "videoscale", `${raw},format=I420`, "tee name=split"].join(" ! ");
  const encodes = branches.map(({ encoder, port }) =>
    [
      "split.",
      // Only the newest frame waits for the encoder: late frames are dropped, not queued up as delay.
      "queue max-size-buffers=1 max-size-bytes=0 max-size-time=0 leaky=downstream",
      encode(encoder, camera.bitrateKbps.start, keyframeFrames),
      `udpsink host=127.0.0.1 port=${port} sync=false async=false`,
    ].join(" ! "),
  );
  // camera.snapshot: the valve stays shut (no JPEG work) until a snapshot opens it for a frame.
  const snapshot = [
    "split.",
    "queue max-size-buffers=1 leaky=downstream",
    `valve name=${SNAPSHOT.valve} drop=true`,
    "jpegenc quality=85",
    `appsink name=${SNAPSHOT.sink} max-buffers=1 drop=true sync=false async=false`,
  ].join(" ! ");
  return [picture, ...encodes, snapshot].join("  ");
}

/** Element names of the snapshot branch, for the pipeline host. */
export const SNAPSHOT = { valve: "snapshotValve", sink: "snapshot" } as const;

function source(camera: CameraConfig, raw: string): string {
  const { source } = camera;
  if (source.type === "test") return `videotestsrc is-live=true pattern=${source.pattern} ! ${raw}`;
  const device = `v4l2src device=${quote(source.device)} do-timestamp=true`;
  const mjpeg = `image/jpeg,width=${camera.width},height=${camera.height},framerate=${camera.framerate}/1`;
  return source.format === "mjpeg" ? `${device} ! ${mjpeg} ! jpegdec` : `${device} ! ${raw}`;
}

function encode(encoder: EncoderChoice, kbps: number, keyframeFrames: number): string {
  const names = branchElements(encoder.codec);
  if (encoder.codec === "vp8") {
    return [
      `vp8enc name=${names.encoder} deadline=1 cpu-used=8 lag-in-frames=0 error-resilient=partitions keyframe-max-dist=${keyframeFrames} target-bitrate=${kbps * 1000}`,
      `rtpvp8pay name=${names.payloader} pt=${PAYLOAD_TYPE.vp8} mtu=${RTP_MTU} picture-id-mode=15-bit`,
    ].join(" ! ");
  }
  // Enum properties (tune, speed-preset) can only be set here, in the launch string. Scene-cut
  // detection would fire constantly on a moving test pattern and is of no use for a live call.
  const element = {
    x264enc: `x264enc name=${names.encoder} tune=zerolatency speed-preset=superfast key-int-max=${keyframeFrames} bitrate=${kbps} option-string=scenecut=0`,
    vaapih264enc: `vaapih264enc name=${names.encoder} rate-control=cbr keyframe-period=${keyframeFrames} bitrate=${kbps}`,
    nvv4l2h264enc: `nvv4l2h264enc name=${names.encoder} iframeinterval=${keyframeFrames} insert-sps-pps=true bitrate=${kbps * 1000}`,
    v4l2h264enc: `v4l2h264enc name=${names.encoder} extra-controls="controls,video_bitrate=${kbps * 1000},h264_i_frame_period=${keyframeFrames}"`,
  }[encoder.element];
  return [
    element,
    // Constrained baseline (profile-level-id 42e01f) is what every browser decodes in hardware.
    "video/x-h264,profile=constrained-baseline,stream-format=byte-stream",
    `rtph264pay name=${names.payloader} pt=${PAYLOAD_TYPE.h264} mtu=${RTP_MTU} config-interval=-1 aggregate-mode=zero-latency`,
  ].join(" ! ");
}

/** A device name inside a launch string; config validation already keeps it to plain names. */
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, "")}"`;
}
