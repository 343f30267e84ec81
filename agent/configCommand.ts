/** `thea config check|schema|docs`. */
import { configJsonSchema } from "../config/schema.ts";
import { loadConfig } from "./config/load.ts";
import { configReference } from "../config/docs.ts";

export async function configCommand(args: string[], configPath: string | undefined, env: Record<string, string | undefined>): Promise<number> {
  const [action, file] = args;
  switch (action) {
    case "check": {
      const path = file ?? configPath;
      const result = await loadConfig({ path, env });
      if (!result.ok) {
        for (const error of result.errors) process.stderr.write(`${error}\n`);
        process.stderr.write(`${path ?? "configuration"}: ${result.errors.length} error(s)\n`);
        return 1;
      }
      process.stdout.write(`${path ?? "configuration"}: ok (device ${result.config.deviceId}, hash ${result.hash})\n`);
      return 0;
    }
    case "schema":
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      return 0;
    case "docs":
      process.stdout.write(configReference(configJsonSchema()));
      return 0;
    default:
      process.stderr.write("usage: thea config check [FILE] | thea config schema | thea config docs\n");
      return 2;
  }
}
