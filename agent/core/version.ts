import { readFileSync } from "node:fs";

/** The agent's version, from the package.json that ships beside it in every release bundle. */
export function agentVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  const version = manifest !== null && typeof manifest === "object" && "version" in manifest ? manifest.version : undefined;
  return typeof version === "string" ? version : "0.0.0-unknown";
}
