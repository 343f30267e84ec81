/** The PostgreSQL password found as libpq finds it (tools/pg/password.ts), never from the command line. */
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findPassword, passwordFromFile } from "../../../tools/pg/password.ts";

const want = { host: "db.hospital.example", port: 5432, database: "thea_fleet", user: "thea_fleet" };

describe("passwordFromFile (libpq's password file format)", () => {
  it("takes the first matching line, with * for anything, \\ escapes and comments", () => {
    const text = [
      "# the fleet service's database",
      "other.example:5432:thea_fleet:thea_fleet:not-this",
      "db.hospital.example:5433:*:thea_fleet:nor-this",
      "db.hospital.example:*:thea_fleet:thea_fleet:p\\:ss\\\\word:with-colon",
      "*:*:*:*:too-late",
    ].join("\n");
    expect(passwordFromFile(text, want)).toBe("p:ss\\word:with-colon");
    expect(passwordFromFile(text, { ...want, user: "someone" })).toBe("too-late");
    expect(passwordFromFile("", want)).toBeUndefined();
  });

  it("lets localhost stand for a Unix socket, as libpq does", () => {
    expect(passwordFromFile("localhost:5432:thea_fleet:thea_fleet:s3cret", { ...want, host: "/run/postgresql" })).toBe("s3cret");
    expect(passwordFromFile("localhost:5432:thea_fleet:thea_fleet:s3cret", want)).toBeUndefined();
  });

  it("never throws on any file, whatever it holds", () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => void passwordFromFile(text, want)));
  });
});

describe("findPassword", () => {
  it("prefers PGPASSWORD, then the file PGPASSFILE names, and refuses a file others may read, without saying the password", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-pgpass-"));
    const file = path.join(dir, "pgpass");
    await writeFile(file, "*:*:*:thea_fleet:from-file\n", { mode: 0o600 });
    expect(await findPassword(want, { PGPASSWORD: "from-env", PGPASSFILE: file })).toBe("from-env");
    expect(await findPassword(want, { PGPASSFILE: file })).toBe("from-file");
    await expect(findPassword({ ...want, user: "nobody" }, { PGPASSFILE: file })).rejects.toThrow(/has no line for db\.hospital\.example:5432:thea_fleet:nobody/);
    await chmod(file, 0o644);
    const refused = await findPassword(want, { PGPASSFILE: file }).catch((error: unknown) => String(error));
    expect(refused).toMatch(/may be read by others/);
    expect(refused).not.toContain("from-file");
    await expect(findPassword(want, { PGPASSFILE: path.join(dir, "missing") })).rejects.toThrow(/there is none in PGPASSWORD or a usable password file/);
  });
});
