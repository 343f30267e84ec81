import { PassThrough, Writable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { createLogger, LogLevels, redactSecrets } from "../../lib/log.ts";

/** A log destination that keeps every line written to it. */
function collected(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, destination };
}

describe("logging", () => {
  it("never writes secrets, however deep they sit", () => {
    const { lines, destination } = collected();
    const log = createLogger({ level: "info", destination });
    log.info({ config: { mqtt: { password: "hunter2", url: "mqtt://b" } }, token: "abc123" }, "loaded");
    expect(lines.join("")).not.toMatch(/hunter2|abc123/);
    expect(lines.join("")).toContain("mqtt://b");
  });

  it("treats URL user-info as a credential in log lines and in redactSecrets", () => {
    const { lines, destination } = collected();
    const log = createLogger({ level: "info", destination });
    log.child({ ns: "mqtt" }).info({ url: "mqtt://box:hunter2@broker:1883", nested: { why: "wss://only-user@host/x failed" } }, "connected");
    const text = lines.join("");
    expect(text).not.toMatch(/hunter2|only-user/);
    expect(text).toContain("mqtt://[redacted]@broker:1883");
    expect(text).toContain("wss://[redacted]@host/x failed");
    expect(redactSecrets({ mqtt: { url: "mqtts://a:b@h:8883", other: "mailto:x@y" } })).toEqual({ mqtt: { url: "mqtts://[redacted]@h:8883", other: "mailto:x@y" } });
  });

  it("redactSecrets replaces secret values at any depth and keeps the rest", () => {
    const redacted = redactSecrets({ mqtt: { password: "p", tls: { key: "/etc/thea/key.pem" } }, list: [{ secret: "s" }] });
    expect(redacted).toEqual({ mqtt: { password: "[redacted]", tls: { key: "/etc/thea/key.pem" } }, list: [{ secret: "[redacted]" }] });
  });
});

describe("LogLevels", () => {
  /** A real full collection: the flag is set at run time and the gc function taken from a fresh context. */
  function collectGarbage(): void {
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
  }

  it("changes the level of children made later and earlier, and forgets children that are gone", async () => {
    const levels = new LogLevels();
    const root = createLogger({ level: "info", destination: new PassThrough(), levels });
    const kept = root.child({ ns: "kept" });
    // A thousand sessions' worth of loggers, dropped: a box makes one per viewing session.
    for (let i = 0; i < 1000; i++) root.child({ session: i });
    await new Promise((resolve) => setImmediate(resolve)); // WeakRefs made in a job hold their target until it ends
    collectGarbage();
    for (let i = 0; i < 200; i++) root.child({ session: `later-${i}` });
    expect(levels.tracked).toBeLessThan(400);
    levels.set("debug");
    expect([root.level, kept.level, root.child({ ns: "new" }).level]).toEqual(["debug", "debug", "debug"]);
  });
});
