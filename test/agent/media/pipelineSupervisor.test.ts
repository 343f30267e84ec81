import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { configSchema, type CameraConfig } from "../../../config/schema.ts";
import { createLogger } from "../../../lib/log.ts";
import type { BitrateControls } from "../../../agent/media/hostProtocol.ts";
import type { VideoCodec } from "../../../agent/media/pipeline.ts";
import type { PipelineProcessEvents, Snapshot } from "../../../agent/media/pipelineProcess.ts";
import { PipelineSupervisor, type PipelineInput } from "../../../agent/media/pipelineSupervisor.ts";
import type { RtpStream } from "../../../agent/media/rtpInput.ts";

const log = createLogger({ level: "silent" });

/** A pipeline process without a process: it records what it is told, and plays or fails on cue. */
class FakePipeline extends EventEmitter<PipelineProcessEvents> {
  launch: string | undefined;
  stopped = false;
  readonly keyframes: VideoCodec[] = [];
  readonly bitrates: number[] = [];
  start(launch: string, _bitrates: BitrateControls): void {
    this.launch = launch;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  requestKeyframe(codec: VideoCodec): void {
    this.keyframes.push(codec);
  }
  setBitrate(kbps: number): void {
    this.bitrates.push(kbps);
  }
  async snapshot(_timeoutMs: number): Promise<Snapshot> {
    return { jpeg: Buffer.from("jpeg"), width: 4, height: 3 };
  }
}

const PORTS: Record<RtpStream, number> = { h264: 5000, vp8: 5002, audio: 5004, clinical: 5006 };

function camera(): CameraConfig {
  const config = configSchema.parse({ mqtt: { url: "mqtt://127.0.0.1" }, cameras: [{ id: "cam1", source: { type: "test" } }] });
  const [only] = config.cameras;
  if (!only) throw new Error("no camera");
  return only;
}

/** A supervisor whose viewers are `viewers` (their codecs) and whose pipelines are fakes, kept in `pipelines`. */
function supervised() {
  const viewers: VideoCodec[] = [];
  const pipelines: FakePipeline[] = [];
  let inputsOpen = 0;
  const supervisor = new PipelineSupervisor({
    config: camera(),
    availableElements: async () => new Set<string>(),
    viewerCodecs: () => viewers,
    bitrateKbps: () => 1000,
    onPacket: () => undefined,
    log,
    newPipeline: () => {
      const pipeline = new FakePipeline();
      pipelines.push(pipeline);
      return pipeline;
    },
    openInput: async (): Promise<PipelineInput> => {
      inputsOpen += 1;
      return { port: (stream) => PORTS[stream], close: () => void (inputsOpen -= 1) };
    },
  });
  const failures: string[] = [];
  supervisor.on("failed", (message) => failures.push(message));
  return { supervisor, viewers, pipelines, failures, inputsOpen: () => inputsOpen };
}

/** The pipeline started last; fails the test if none was. */
function last(pipelines: FakePipeline[]): FakePipeline {
  const pipeline = pipelines.at(-1);
  if (!pipeline) throw new Error("no pipeline started");
  return pipeline;
}

describe("the pipeline supervisor", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("launches only when a viewer wants the pipeline, and stops it when the camera goes idle", async () => {
    const { supervisor, viewers, pipelines, inputsOpen } = supervised();
    expect(supervisor.state).toBe("idle");
    expect(pipelines).toHaveLength(0);
    viewers.push("h264");
    await supervisor.want("h264", () => true);
    expect(pipelines).toHaveLength(1);
    expect(last(pipelines).launch).toContain("x264enc");
    expect(supervisor.state).toBe("starting");
    last(pipelines).emit("playing");
    expect(supervisor.state).toBe("playing");
    expect(supervisor.encodes("h264")).toBe(true);
    viewers.pop();
    expect(supervisor.idle).toBe(true);
    await supervisor.stop();
    expect(last(pipelines).stopped).toBe(true);
    expect(supervisor.state).toBe("idle");
    expect(supervisor.encodes("h264")).toBe(false);
    expect(inputsOpen()).toBe(0);
  });

  it("restarts a failed pipeline after a backoff while it is watched, and reports each failure", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    const { supervisor, viewers, pipelines, failures } = supervised();
    viewers.push("h264");
    await supervisor.want("h264", () => true);
    last(pipelines).emit("playing");
    last(pipelines).emit("failed", "the source ended");
    expect(failures).toEqual(["the source ended"]);
    expect(supervisor.state).toBe("restarting");
    expect(supervisor.lastError).toBe("the source ended");
    expect(supervisor.encodes("h264")).toBe(false);
    // Full jitter draws the wait within the window; drawn at its top here, the wait is the window.
    await vi.advanceTimersByTimeAsync(499);
    expect(pipelines).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1); // the first window: 500 ms
    expect(pipelines).toHaveLength(2);
    expect(supervisor.restarts).toBe(1);
    // Failing again before it played: the window doubles.
    last(pipelines).emit("failed", "again");
    await vi.advanceTimersByTimeAsync(999);
    expect(pipelines).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(pipelines).toHaveLength(3);
    expect(supervisor.restarts).toBe(2);
    last(pipelines).emit("playing");
    expect(supervisor.state).toBe("playing");
  });

  it("does not restart a pipeline once nobody watches, nor heed a stopped pipeline's failure", async () => {
    const { supervisor, viewers, pipelines, failures } = supervised();
    viewers.push("h264");
    await supervisor.want("h264", () => true);
    const first = last(pipelines);
    first.emit("failed", "crashed");
    viewers.pop();
    await supervisor.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(pipelines).toHaveLength(1);
    expect(supervisor.restarts).toBe(0);
    expect(supervisor.state).toBe("idle");
    first.emit("failed", "late news");
    expect(failures).toEqual(["crashed"]);
    expect(supervisor.state).toBe("idle");
  });

  it("relaunches with a second encoder for a viewer of the other codec, once", async () => {
    const { supervisor, viewers, pipelines } = supervised();
    viewers.push("h264");
    await supervisor.want("h264", () => true);
    const first = last(pipelines);
    first.emit("playing");
    viewers.push("vp8");
    await supervisor.want("vp8", () => true);
    expect(first.stopped).toBe(true);
    expect(pipelines).toHaveLength(2);
    expect(last(pipelines).launch).toContain("x264enc");
    expect(last(pipelines).launch).toContain("vp8enc");
    expect(supervisor.encoders().map((encoder) => encoder.codec)).toEqual(["h264", "vp8"]);
    viewers.push("vp8");
    await supervisor.want("vp8", () => true);
    expect(pipelines).toHaveLength(2);
  });

  it("does not add an encoder for a viewer that left while the elements were looked up", async () => {
    const { supervisor, viewers, pipelines } = supervised();
    viewers.push("h264");
    await supervisor.want("h264", () => true);
    await supervisor.want("vp8", () => false);
    expect(pipelines).toHaveLength(1);
    expect(supervisor.encodes("vp8")).toBe(false);
  });

  it("starts an idle pipeline for a snapshot and stops it after", async () => {
    const { supervisor, pipelines } = supervised();
    const picture = supervisor.snapshot(5000);
    await vi.waitFor(() => expect(pipelines).toHaveLength(1));
    last(pipelines).emit("playing");
    expect((await picture).width).toBe(4);
    expect(last(pipelines).stopped).toBe(true);
    expect(supervisor.state).toBe("idle");
  });
});
