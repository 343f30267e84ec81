/**
 * A pipeline host: a child process that runs one GStreamer pipeline for the agent.
 *
 * Why a process of its own: gstreamer-superficial's pipelines leak when created and destroyed
 * repeatedly and can crash the process (bench/media measures it); its bus poll holds a libuv
 * worker for good and makes `process.exit()` hang. In a child, a crash costs one pipeline restart
 * while the agent's broker connection, outbox and viewing sessions go on, and ending is a plain kill.
 * The pipeline sends RTP to a loopback UDP port the agent listens on, so no media crosses IPC.
 */
import { createRequire } from "node:module";
import { isHostMessage, type BitrateControls, type HostCommand, type HostEvent } from "./hostProtocol.ts";
import { branchElements, SNAPSHOT, type VideoCodec } from "./pipeline.ts";

interface GstElement {
  [property: string]: unknown;
}

interface GstAppSink extends GstElement {
  pull(callback: (buffer: Buffer | null, caps: { width?: number; height?: number }) => void): void;
}

interface GstBusMessage {
  type: string;
  _src_element_name?: string;
  "new-state"?: string;
  message?: string;
  name?: string;
}

interface GstPipeline {
  play(): void;
  stop(): void;
  findChild(name: string): GstElement | undefined;
  forceKeyUnit(element: string, count: number): boolean;
  pollBus(callback: (message: GstBusMessage) => void): void;
}

interface GstModule {
  Pipeline: new (launch: string) => GstPipeline;
}

const gst = createRequire(import.meta.url)("gstreamer-superficial") as GstModule;

let pipeline: GstPipeline | undefined;
let bitrates: BitrateControls = {};

function send(event: HostEvent): void {
  process.send?.(event);
}

function stopAndExit(): never {
  pipeline?.stop();
  // The bus poll keeps a worker thread blocked; exit() would wait for it. Nothing is left to flush.
  process.kill(process.pid, "SIGKILL");
  throw new Error("unreachable");
}

function start(launch: string, controls: BitrateControls): void {
  try {
    pipeline = new gst.Pipeline(launch);
  } catch (error) {
    // The agent reports this error only if it arrives: the kill waits until the IPC write is done
    // (a write that cannot complete at once would be lost, and "ended (SIGKILL)" reported instead).
    const event: HostEvent = { type: "error", message: error instanceof Error ? error.message : String(error), element: "launch" };
    // (A closed channel calls back with its error, so the host ends either way.)
    if (process.send) process.send(event, () => stopAndExit());
    else stopAndExit();
    return;
  }
  bitrates = controls;
  pipeline.pollBus((message) => {
    const element = message._src_element_name ?? "?";
    if (message.type === "error") send({ type: "error", message: message.message ?? "unknown error", element: message.name ?? element });
    else if (message.type === "warning") send({ type: "warning", message: message.message ?? "", element });
    else if (message.type === "eos") send({ type: "eos" });
    else if (message.type === "state-changed" && message["new-state"] === "GST_STATE_PLAYING" && element.startsWith("pipeline")) {
      send({ type: "playing" });
    }
  });
  pipeline.play();
}

function handle(command: HostCommand): void {
  switch (command.type) {
    case "start":
      if (!pipeline) start(command.launch, command.bitrates);
      return;
    case "keyframe":
      pipeline?.forceKeyUnit(branchElements(command.codec).payloader, 1);
      return;
    case "bitrate":
      for (const [codec, control] of Object.entries(bitrates) as [VideoCodec, BitrateControls[VideoCodec]][]) {
        const encoder = pipeline?.findChild(branchElements(codec).encoder);
        if (encoder && control) encoder[control.property] = Math.round(command.kbps * control.perKbps);
      }
      return;
    case "snapshot":
      snapshot(command.id);
      return;
    case "stop":
      stopAndExit();
  }
}

/**
 * Opens the snapshot valve for one frame. The appsink keeps at most one JPEG, and one that slipped
 * through when the valve last closed may be old, so the first is dropped and the second sent.
 */
function snapshot(id: number): void {
  const valve = pipeline?.findChild(SNAPSHOT.valve);
  const sink = pipeline?.findChild(SNAPSHOT.sink) as GstAppSink | undefined;
  if (!valve || !sink) return;
  valve.drop = false;
  sink.pull(() =>
    sink.pull((jpeg, caps) => {
      valve.drop = true;
      if (jpeg) send({ type: "snapshot", id, jpegBase64: jpeg.toString("base64"), width: caps.width ?? 0, height: caps.height ?? 0 });
    }),
  );
}

process.on("message", (message) => {
  if (isHostMessage<HostCommand>(message)) handle(message);
});
// The agent gone means nobody reads our RTP: end with it rather than run on as an orphan.
process.on("disconnect", () => stopAndExit());
