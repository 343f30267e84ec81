/**
 * Entry point of thea's tools: the commands a developer, a technician or a test runs beside the
 * agent, never on its behalf (bin/thea sends `thea simulate|decode|console|keys|release|build|fleet`
 * here). Each command's code is imported when it is the one run.
 */
import { parseArgs } from "node:util";
import { messageOf } from "../lib/messageOf.ts";

const TOOL_COMMANDS = ["decode", "simulate", "console", "keys", "release", "build", "fleet"] as const;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      driver: { type: "string" },
      hex: { type: "boolean" },
      options: { type: "string" },
      port: { type: "string" },
      "tcp-connect": { type: "string" },
      "tcp-listen": { type: "string" },
      "udp-bind": { type: "string" },
      scenario: { type: "string" },
      speed: { type: "string" },
      broker: { type: "string" },
      listen: { type: "string" },
      cert: { type: "string" },
      ca: { type: "string" },
      origin: { type: "string", multiple: true },
      "max-connections": { type: "string" },
      version: { type: "string" },
      key: { type: "string" },
      url: { type: "string" },
      out: { type: "string" },
      notes: { type: "string" },
      "min-version": { type: "string" },
      from: { type: "string" },
      "expires-in": { type: "string" },
      "expires-at": { type: "string" },
      channel: { type: "string", multiple: true },
      device: { type: "string", multiple: true },
      "allow-downgrade": { type: "boolean" },
      force: { type: "boolean" },
      "data-dir": { type: "string" },
      "web-cert": { type: "string" },
      "web-key": { type: "string" },
      "web-ca": { type: "string" },
      roster: { type: "string" },
      "act-without-roster": { type: "boolean" },
      store: { type: "string" },
      // thea fleet rollout …
      api: { type: "string" },
      release: { type: "string" },
      patch: { type: "string" },
      config: { type: "string" },
      province: { type: "string" },
      district: { type: "string" },
      commune: { type: "string" },
      canary: { type: "string" },
      batch: { type: "string" },
      threshold: { type: "string" },
      deadline: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const [command, ...rest] = positionals;
  switch (command) {
    case "decode":
      return (await import("../tools/decode.ts")).decodeCommand({ driver: values.driver, hex: values.hex ?? false, options: values.options, file: rest[0] });
    case "simulate":
      return (await import("../tools/simulate.ts")).simulateCommand({
        driver: rest[0],
        port: values.port,
        tcpConnect: values["tcp-connect"],
        tcpListen: values["tcp-listen"],
        udpBind: values["udp-bind"],
        scenario: values.scenario,
        options: values.options,
        speed: values.speed,
      });
    case "console":
      return (await import("../tools/console/command.ts")).consoleCommand({
        broker: values.broker,
        listen: values.listen,
        cert: values.cert,
        key: values.key,
        ca: values.ca,
        origin: values.origin,
        maxConnections: values["max-connections"],
      });
    case "keys":
    case "release": {
      const args = {
        version: values.version,
        key: values.key,
        url: values.url,
        out: values.out,
        notes: values.notes,
        minVersion: values["min-version"],
        from: values.from,
        expiresIn: values["expires-in"],
        expiresAt: values["expires-at"],
        channel: values.channel,
        device: values.device,
        allowDowngrade: values["allow-downgrade"],
        force: values.force,
      };
      const { keysCommand, releaseCommand } = await import("../tools/release/command.ts");
      return command === "keys" ? keysCommand(rest, args) : releaseCommand(rest, args);
    }
    case "build":
      return (await import("../tools/release/buildCommand.ts")).buildCommand({ out: values.out });
    case "fleet":
      return (await import("../tools/fleet/main.ts")).fleetCommand(rest, {
        broker: values.broker,
        cert: values.cert,
        key: values.key,
        ca: values.ca,
        listen: values.listen,
        origin: values.origin,
        dataDir: values["data-dir"],
        webCert: values["web-cert"],
        webKey: values["web-key"],
        webCa: values["web-ca"],
        roster: values.roster,
        actWithoutRoster: values["act-without-roster"],
        store: values.store,
        rollout: {
          api: values.api,
          release: values.release,
          patch: values.patch,
          config: values.config,
          province: values.province,
          district: values.district,
          commune: values.commune,
          version: values.version,
          device: values.device,
          canary: values.canary,
          batch: values.batch,
          threshold: values.threshold,
          deadline: values.deadline,
        },
      });
    default:
      process.stderr.write(`thea: "${command ?? ""}" is not one of the tools (${TOOL_COMMANDS.join(", ")}); \`thea help\` lists every command\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`thea: ${messageOf(error)}\n`);
    process.exitCode = 2;
  },
);
