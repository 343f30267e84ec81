/**
 * The agent's side of a pipeline host with real GStreamer: what the agent is told when a pipeline
 * cannot even be built.
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../agent/log.ts";
import { PipelineProcess } from "../../../agent/media/pipelineProcess.ts";

describe("PipelineProcess", () => {
  it("reports why a pipeline could not be launched, not only that its host was killed", async () => {
    const host = new PipelineProcess(createLogger({ level: "silent" }));
    // An element GStreamer does not have, with a name long enough that the error naming it does
    // not fit the IPC channel's buffer in one write, as when the channel is busy: the host must
    // finish writing it before it kills itself.
    const missing = `nosuchelement${"x".repeat(400_000)}`;
    const failed = new Promise<string>((resolve) => host.once("failed", resolve));
    host.start(`${missing} ! fakesink`, {});
    const reason = await failed;
    expect(reason.slice(0, 200)).toMatch(/^launch: .*no element "nosuchelementxxx/);
    await host.stop();
  });
});
