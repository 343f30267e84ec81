/**
 * The agent's side of one pipeline host (host.ts): starts the child, passes it commands, turns
 * its messages and its death into events. Knows nothing of cameras or viewers.
 */
import { fork, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../lib/log.ts";
import { Waitress } from "../../lib/waitress.ts";
import { isHostMessage, type BitrateControls, type HostCommand, type HostEvent } from "./hostProtocol.ts";
import type { VideoCodec } from "./pipeline.ts";

/**
 * The host in the language this module runs in: host.ts in development, the type-stripped host.js
 * in a release. A host run as .ts loads Node's type stripper: ~26 MB more resident for the
 * pipeline's whole life (bench/viewerCost.ts), for nothing it needs.
 */
const HOST = fileURLToPath(new URL(`./host${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** A pipeline not playing by then is stuck (a camera that never delivers, a wedged driver). */
const START_TIMEOUT_MS = 10_000;

export interface Snapshot {
  jpeg: Buffer;
  width: number;
  height: number;
}

export interface PipelineProcessEvents {
  playing: [];
  /** The pipeline failed or the host died; `message` says why. Not emitted after stop(). */
  failed: [message: string];
  warning: [message: string];
}

export interface PipelineProcessOptions {
  /**
   * Where the host keeps Node's compile cache (NODE_COMPILE_CACHE): without it every pipeline
   * start strips host.ts and its imports of their types again, ~30-60 ms of the first frame
   * (docs/media.md, "What the agent waited for"). A directory only the agent writes: the cache
   * holds code the host runs.
   */
  compileCacheDir?: string | undefined;
}

export class PipelineProcess extends EventEmitter<PipelineProcessEvents> {
  readonly #log: Logger;
  readonly #compileCacheDir: string | undefined;
  #child: ChildProcess | undefined;
  #stopping = false;
  #lastError: string | undefined;
  #startTimer: NodeJS.Timeout | undefined;
  #nextSnapshot = 1;
  /** Snapshot requests awaiting the host's JPEG, matched by id. */
  readonly #snapshots = new Waitress<{ id: number; snapshot: Snapshot }>();

  constructor(log: Logger, options: PipelineProcessOptions = {}) {
    super();
    this.#log = log;
    this.#compileCacheDir = options.compileCacheDir;
  }

  start(launch: string, bitrates: BitrateControls): void {
    this.#stopping = false;
    this.#lastError = undefined;
    const child = fork(HOST, [], {
      // One worker for the bus poll, which it holds for good, and headroom for GStreamer callbacks.
      // GStreamer's own errors and warnings go to the agent's log at debug level (uncoloured).
      env: {
        ...process.env,
        UV_THREADPOOL_SIZE: "4",
        GST_DEBUG: process.env.GST_DEBUG ?? "2",
        GST_DEBUG_NO_COLOR: "1",
        ...(this.#compileCacheDir !== undefined && { NODE_COMPILE_CACHE: this.#compileCacheDir }),
      },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    this.#child = child;
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) this.#log.debug({ gst: line.trim() }, "pipeline output");
    };
    child.stdout?.on("data", relay);
    child.stderr?.on("data", relay);
    this.#startTimer = setTimeout(() => {
      this.#lastError = `the pipeline did not start playing within ${START_TIMEOUT_MS / 1000} s`;
      this.#end();
    }, START_TIMEOUT_MS);
    child.on("message", (message) => {
      if (!isHostMessage<HostEvent>(message)) return;
      if (message.type === "playing") {
        clearTimeout(this.#startTimer);
        this.emit("playing");
      }
      else if (message.type === "warning") this.emit("warning", `${message.element}: ${message.message}`);
      else if (message.type === "snapshot") {
        this.#snapshots.offer({ id: message.id, snapshot: { jpeg: Buffer.from(message.jpegBase64, "base64"), width: message.width, height: message.height } });
      }
      else if (message.type === "error") {
        this.#lastError = `${message.element}: ${message.message}`;
        this.#end();
      } else if (message.type === "eos") {
        this.#lastError = "the source ended";
        this.#end();
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(this.#startTimer);
      if (this.#child === child) this.#child = undefined;
      const reason = this.#lastError ?? `pipeline process ended (${signal ?? `exit code ${code}`})`;
      this.#snapshots.rejectAll(new Error(reason));
      if (this.#stopping) return;
      this.emit("failed", reason);
    });
    this.#send({ type: "start", launch, bitrates });
  }

  requestKeyframe(codec: VideoCodec): void {
    this.#send({ type: "keyframe", codec });
  }

  setBitrate(kbps: number): void {
    this.#send({ type: "bitrate", kbps });
  }

  /** A JPEG of the current picture; rejects after `timeoutMs` or if the pipeline ends first. */
  async snapshot(timeoutMs: number): Promise<Snapshot> {
    const id = this.#nextSnapshot++;
    const answer = this.#snapshots.waitFor("picture", (reply) => reply.id === id, timeoutMs);
    this.#send({ type: "snapshot", id });
    return (await answer).snapshot;
  }

  /** Stops the pipeline and resolves once the host process is gone. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#stopping = true;
    clearTimeout(this.#startTimer);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    this.#send({ type: "stop" });
    // A host wedged inside GStreamer does not read its IPC; it is killed after a grace period.
    const kill = setTimeout(() => child.kill("SIGKILL"), 2000);
    await gone;
    clearTimeout(kill);
  }

  /** After an error the host is told to stop (killed if it does not); its exit reports the error. */
  #end(): void {
    const child = this.#child;
    this.#send({ type: "stop" });
    setTimeout(() => child?.kill("SIGKILL"), 2000).unref();
  }

  #send(command: HostCommand): void {
    const child = this.#child;
    if (child?.connected) child.send(command, (error) => error && this.#log.debug({ err: error.message }, "pipeline host not listening"));
  }
}
