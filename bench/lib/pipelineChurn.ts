/**
 * Creates, plays, stops and drops one gstreamer-superficial pipeline after another in this one
 * process, as an agent would if it ran pipelines in-process, and prints its RSS as it goes.
 * With `bus`, each pipeline's bus is polled as an agent must to see errors; then after each cycle
 * a file read (which needs a libuv thread-pool worker) shows whether the process can still do I/O.
 * Run by bench/media.ts in a child (it may crash or stall); prints one JSON line per checkpoint.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

interface Pipeline {
  play(): void;
  stop(): void;
  pollBus(callback: (message: unknown) => void): void;
}
const gst = createRequire(import.meta.url)("gstreamer-superficial") as { Pipeline: new (launch: string) => Pipeline };

const CYCLES = Number(process.argv[2] ?? 200);
const WITH_BUS = process.argv[3] === "bus";
const LAUNCH =
  "videotestsrc is-live=true ! video/x-raw,width=640,height=360,framerate=30/1 ! videoconvert ! " +
  "x264enc tune=zerolatency speed-preset=ultrafast ! rtph264pay ! fakesink";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rssMb = () => Math.round(process.memoryUsage.rss() / 1048576);
const gc = (globalThis as { gc?: () => void }).gc;

console.log(JSON.stringify({ cycle: 0, rssMb: rssMb() }));
for (let cycle = 1; cycle <= CYCLES; cycle++) {
  const pipeline = new gst.Pipeline(LAUNCH);
  if (WITH_BUS) pipeline.pollBus(() => undefined);
  pipeline.play();
  await sleep(50); // let it negotiate and encode a few frames, as a short viewing would
  pipeline.stop();
  gc?.();
  if (WITH_BUS) {
    const io = await Promise.race([readFile("/proc/self/stat").then(() => true), sleep(2000).then(() => false)]);
    if (!io) {
      console.log(JSON.stringify({ cycle, rssMb: rssMb(), stalled: true }));
      break;
    }
  }
  if (cycle % 25 === 0) console.log(JSON.stringify({ cycle, rssMb: rssMb() }));
}
process.kill(process.pid, "SIGKILL"); // exit() may hang on GStreamer's threads
