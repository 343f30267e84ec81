import { describe, expect, it } from "vitest";
import { deviceTopics } from "../../../agent/mqtt/topics.ts";

describe("deviceTopics", () => {
  const topics = deviceTopics("clinic-7");

  it("puts everything under thea/v1/{deviceId}", () => {
    expect(topics.status).toBe("thea/v1/clinic-7/status");
    expect(topics.health).toBe("thea/v1/clinic-7/health");
    expect(topics.commandFilter).toBe("thea/v1/clinic-7/cmd/+");
    expect(topics.command("ping")).toBe("thea/v1/clinic-7/cmd/ping");
    expect(topics.commandResponse("ping")).toBe("thea/v1/clinic-7/cmd/ping/response");
  });

  it("reads the command name back from a command topic only", () => {
    expect(topics.commandName("thea/v1/clinic-7/cmd/health.now")).toBe("health.now");
    expect(topics.commandName("thea/v1/clinic-7/cmd/ping/response")).toBeUndefined();
    expect(topics.commandName("thea/v1/clinic-8/cmd/ping")).toBeUndefined();
    expect(topics.commandName("thea/v1/clinic-7/cmd/")).toBeUndefined();
  });
});
