/**
 * Entry point of the `thea` command (bin/thea runs this with the project's Node runtime).
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { agentVersion } from "./version.ts";

// Each command's code is imported when it is the one run: `thea run` (on a box, for months) does
// not hold the release packer's, the console's or the simulators' (docs/media.md, "At rest").

const USAGE = `usage: thea <command> [options]

commands:
  run                   run the agent (what systemd starts)
  config check [FILE]   validate a configuration; prints every error as key: problem
  config schema         print the configuration's JSON Schema (for fleet tools)
  config docs           print the configuration reference (docs/configuration.md)
  version               print the agent's version
  decode --driver ID [--hex] [--options JSON] FILE
                        decode a capture from a device; one reading (JSON) per line
  simulate DRIVER (--port PATH | --tcp-connect HOST:PORT | --tcp-listen HOST:PORT | --udp-bind HOST:PORT)
           [--scenario normal|finger-out|garbled|unplug] [--options JSON]
                        play a device on a serial port or TCP (for the demo and tests)
  console --broker mqtt[s]://HOST:PORT [--cert FILE --key FILE] [--ca FILE] [--listen HOST:PORT]
          [--origin URL]... [--max-connections N]
                        serve the operator console page, relaying its MQTT over WebSocket to the broker
                        (docs/console.md); prints the address to open, with this start's token
  keys generate [--out DIR]
                        make an Ed25519 key pair for signing releases (docs/updates.md)
  build [--out DIR]     build the agent as JavaScript, as releases carry it, into DIR (default build/)
  release pack --version V --key FILE --url URL [--out DIR] [--notes TEXT] [--min-version V] [--from DIR]
                [--expires-in 7d | --expires-at ISO] [--channel C]... [--device ID]... [--allow-downgrade] [--force]
                        build a release bundle and its signed manifest

options:
  -c, --config FILE     configuration file (YAML or JSON); default $THEA_CONFIG,
                        else /etc/thea/thea.yaml if it exists
`;

const DEFAULT_CONFIG_PATH = "/etc/thea/thea.yaml";

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: "string", short: "c" },
      help: { type: "boolean", short: "h" },
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
    },
    allowPositionals: true,
    strict: true,
  });
  const env = process.env;
  const configPath = values.config ?? env.THEA_CONFIG ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  switch (command) {
    case "run":
      return (await import("./cli/run.ts")).runCommand(configPath, env);
    case "config":
      return (await import("./cli/config.ts")).configCommand(rest, configPath, env);
    case "decode":
      return (await import("./cli/decode.ts")).decodeCommand({ driver: values.driver, hex: values.hex ?? false, options: values.options, file: rest[0] });
    case "simulate":
      return (await import("./cli/simulate.ts")).simulateCommand({
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
      return (await import("./cli/console.ts")).consoleCommand({
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
      const { keysCommand, releaseCommand } = await import("./cli/release.ts");
      return command === "keys" ? keysCommand(rest, args) : releaseCommand(rest, args);
    }
    case "build":
      return (await import("./cli/build.ts")).buildCommand({ out: values.out });
    case "version":
      process.stdout.write(`thea ${agentVersion()} (node ${process.version})\n`);
      return 0;
    default:
      process.stderr.write(`thea: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`thea: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
