/**
 * Entry point of the agent's commands (`thea run`, `thea config`, `thea version`): bin/thea runs
 * this with the project's Node runtime. The tools (simulate, decode, console, keys, release, build)
 * have their own entry, tools/main.ts, which bin/thea chooses by the command's name: the agent
 * never imports them, and a box's release need not carry them.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { agentVersion } from "./core/version.ts";

// Each command's code is imported when it is the one run: `thea config check` does not load the
// agent's services (docs/media.md, "At rest").

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
  fleet serve --broker mqtt[s]://HOST:PORT [--cert FILE --key FILE] [--ca FILE] --data-dir DIR
              [--listen HOST:PORT] [--origin URL]... [--web-cert FILE --web-key FILE --web-ca FILE [--roster FILE]]
              [--act-without-roster]
                        run the fleet service: every box's state, the fleet page and its API
                        (docs/fleet.md; default listen 127.0.0.1:8090; --roster: each person sees
                        their sites' boxes, re-read on SIGHUP; without it any certificate from
                        --web-ca sees every box)
  fleet rollout dry-run|create CHANGE SELECTION [--canary N|N%] [--batch N] [--threshold N|N%] [--deadline 30m]
  fleet rollout list | show ID | watch ID | pause ID | resume ID | abort ID
                        a staged rollout of a signed release or a config layer, canary first, through
                        the fleet service's API (docs/fleet.md; thea fleet rollout for its options)
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
      return (await import("./run.ts")).runCommand(configPath, env);
    case "config":
      return (await import("./configCommand.ts")).configCommand(rest, configPath, env);
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
