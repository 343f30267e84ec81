import { describe, expect, it } from "vitest";
import { startInOrder, stopInOrder, stopOrder, type Service } from "../../../agent/core/service.ts";

function recorder() {
  const calls: string[] = [];
  const service = (name: string): Service & { name: string } => ({
    name,
    start: async () => {
      await Promise.resolve();
      calls.push(`start ${name}`);
    },
    stop: () => {
      calls.push(`stop ${name}`);
    },
  });
  return { calls, service };
}

describe("the service list", () => {
  it("starts in order, each after the previous has settled, and stops in reverse", async () => {
    const { calls, service } = recorder();
    const list = ["outbox", "router", "broker"].map(service);
    await startInOrder(list);
    await stopInOrder(stopOrder(list));
    expect(calls).toEqual(["start outbox", "start router", "start broker", "stop broker", "stop router", "stop outbox"]);
  });

  it("stops every service even when one fails to stop, and reports the failure", async () => {
    const { calls, service } = recorder();
    const broken: Service = { start: () => undefined, stop: () => Promise.reject(new Error("stuck")) };
    const list = [service("outbox"), broken, service("broker")];
    await expect(stopInOrder(stopOrder(list))).rejects.toThrow("stuck");
    expect(calls).toEqual(["stop broker", "stop outbox"]);
  });

  it("moves an exception's service to just after the one it names", () => {
    const { service } = recorder();
    const [outbox, sender, commands, broker] = ["outbox", "sender", "commands", "broker"].map(service);
    if (!outbox || !sender || !commands || !broker) throw new Error("four services");
    const order = stopOrder([outbox, sender, commands, broker], [{ service: broker, after: sender, why: "goodbye while connected" }]);
    expect(order.map((s) => s.name)).toEqual(["commands", "sender", "broker", "outbox"]);
  });

  it("throws on a wiring mistake: a service listed twice, an exception about a service not listed", () => {
    const { service } = recorder();
    const a = service("a");
    const b = service("b");
    expect(() => stopOrder([a, a])).toThrow(/twice/);
    expect(() => stopOrder([a], [{ service: b, after: a, why: "" }])).toThrow(/not in the list/);
  });
});
