/**
 * The PostgreSQL password, found as libpq finds it, so that it is never on the command line:
 * PGPASSWORD, else the password file PGPASSFILE names (~/.pgpass by default), in libpq's format
 * (PostgreSQL 15 documentation, §34.16 "The Password File"): lines of
 * `hostname:port:database:username:password`, `*` matching anything in the first four, `\`
 * escaping `:` and `\`, `#` starting a comment; `localhost` also matching a Unix socket.
 *
 * node-postgres reads that file itself when given no password, but that support is deprecated
 * (to go in pg 9), and a server that asks for a password none of them gives left its connection
 * open after the error, so a service that could not start never ended. Given this function, pg
 * asks it only when the server wants a password, and an error here ends the connection attempt.
 */
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";

export interface PasswordFor {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** The password of the first line that matches, or undefined. Pure. */
export function passwordFromFile(text: string, want: PasswordFor): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    const [host = "", port = "", database = "", user = ""] = fields;
    const password = fields.slice(4).join(":");
    const hostMatches = host === "*" || host === want.host || (host === "localhost" && want.host.startsWith("/"));
    if (hostMatches && [port, database, user].every((field, i) => field === "*" || field === [String(want.port), want.database, want.user][i])) return password;
  }
  return undefined;
}

function splitFields(line: string): string[] {
  const fields: string[] = [];
  let current = "";
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === "\\" && i + 1 < line.length) current += line[++i];
    else if (char === ":") {
      fields.push(current);
      current = "";
    } else current += char;
  }
  fields.push(current);
  return fields;
}

/**
 * The password for this connection from the environment, or an error that says where it was
 * looked for (and never what it is).
 */
export async function findPassword(want: PasswordFor, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.PGPASSWORD !== undefined && env.PGPASSWORD !== "") return env.PGPASSWORD;
  const file = env.PGPASSFILE !== undefined && env.PGPASSFILE !== "" ? env.PGPASSFILE : path.join(env.HOME ?? homedir(), ".pgpass");
  let text: string;
  try {
    // libpq ignores a file others may read; so does this, saying so (§34.16).
    if (((await stat(file)).mode & 0o077) !== 0) throw new Error(`${file} may be read by others (chmod 0600 it)`);
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`PostgreSQL asks user ${want.user} for a password, and there is none in PGPASSWORD or a usable password file: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const password = passwordFromFile(text, want);
  if (password === undefined) throw new Error(`PostgreSQL asks user ${want.user} for a password, and ${file} has no line for ${want.host}:${want.port}:${want.database}:${want.user}`);
  return password;
}
