import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deviceTopics } from "../../../agent/core/topics.ts";

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

  it("allows answers only under reply/{requesterId} or on the command's default topic", () => {
    expect(topics.reply("technician.ana", "7f3a")).toBe("thea/v1/clinic-7/reply/technician.ana/7f3a");
    for (const allowed of ["thea/v1/clinic-7/reply/me", "thea/v1/clinic-7/reply/technician.ana/7f3a/x", "thea/v1/clinic-7/cmd/ping/response"]) {
      expect(topics.answerTopicAllowed(allowed, "ping"), allowed).toBe(true);
    }
    const refused = [
      topics.status,
      topics.updateDesired,
      topics.configDesired,
      topics.peripheralReading("oximeter"),
      topics.viewerGone("viewer-1"),
      topics.command("agent.restart"),
      "thea/v1/clinic-7/cmd/agent.restart/response", // another command's default topic
      "thea/v1/clinic-8/reply/me", // another box's subtree
      "thea/v1/clinic-7/reply",
      "thea/v1/clinic-7/reply/",
      "thea/v1/clinic-7/reply//x",
      "thea/v1/clinic-7/reply/me/",
      "thea/v1/clinic-7/reply/+",
      "thea/v1/clinic-7/reply/me/#",
      "thea/v1/clinic-7/reply/me\u0000",
      `thea/v1/clinic-7/reply/${"x".repeat(300)}`,
      "bench/answers",
      "",
    ];
    for (const topic of refused) expect(topics.answerTopicAllowed(topic, "ping"), topic).toBe(false);
    expect(topics.requesterOfReply("thea/v1/clinic-7/reply/technician.ana/7f3a")).toBe("technician.ana");
  });

  it("never allows a topic outside the box's reply subtree and the default answer topic", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("thea/v1/clinic-7/reply/", "thea/v1/clinic-7/", "thea/v1/clinic-8/reply/", "thea/v1/clinic-7/cmd/", ""),
        fc.string({ maxLength: 20, unit: fc.constantFrom("a", "/", "+", "#", "\u0000", "ping", "response") }),
        (prefix, rest) => {
          const topic = prefix + rest;
          if (!topics.answerTopicAllowed(topic, "ping")) return;
          const requester = topics.requesterOfReply(topic);
          const underReply = topic.startsWith("thea/v1/clinic-7/reply/") && requester !== undefined && requester.length > 0;
          expect(topic === topics.commandResponse("ping") || underReply).toBe(true);
          expect(topic).not.toMatch(/[+#\u0000]|\/\/|\/$/);
        },
      ),
    );
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 4 }), (levels) => {
        const topic = topics.reply(levels[0] ?? "", ...levels.slice(1));
        const clean = levels.every((level) => level.length > 0 && !/[+#/\u0000]/.test(level));
        if (clean) expect(topics.answerTopicAllowed(topic, "ping")).toBe(true);
      }),
    );
  });
});
