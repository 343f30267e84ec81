import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, redactSecrets } from "../../agent/log.ts";

describe("logging", () => {
  it("never writes secrets, however deep they sit", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ level: "info", destination });
    log.info({ config: { mqtt: { password: "hunter2", url: "mqtt://b" } }, token: "abc123" }, "loaded");
    expect(lines.join("")).not.toMatch(/hunter2|abc123/);
    expect(lines.join("")).toContain("mqtt://b");
  });

  it("redactSecrets replaces secret values at any depth and keeps the rest", () => {
    const redacted = redactSecrets({ mqtt: { password: "p", tls: { key: "/etc/thea/key.pem" } }, list: [{ secret: "s" }] });
    expect(redacted).toEqual({ mqtt: { password: "[redacted]", tls: { key: "/etc/thea/key.pem" } }, list: [{ secret: "[redacted]" }] });
  });
});
