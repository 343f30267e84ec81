/**
 * The fleet service's unit (systemd/thea-fleet.service), checked by systemd's own tools as
 * thea.service is (unit.test.ts): `systemd-analyze verify` and `systemd-analyze security --offline=true`.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../helpers/agentProcess.ts";

const run = promisify(execFile);
const UNIT = path.join(PROJECT_ROOT, "systemd", "thea-fleet.service");
const INSTALL_PREFIX = "/opt/thea-fleet";

describe("systemd/thea-fleet.service", () => {
  it("passes systemd-analyze verify", async () => {
    // verify insists that ExecStart exists: point the checkout's place at this one's bin/thea.
    const unit = await readFile(UNIT, "utf8");
    expect(unit).toContain(`ExecStart=${INSTALL_PREFIX}/bin/thea fleet serve`);
    const dir = await mkdtemp(path.join(tmpdir(), "thea-fleet-unit-"));
    const root = path.join(dir, "checkout");
    await mkdir(path.join(root, "bin"), { recursive: true });
    await symlink(path.join(PROJECT_ROOT, "bin", "thea"), path.join(root, "bin", "thea"));
    const copy = path.join(dir, "thea-fleet.service");
    await writeFile(copy, unit.replaceAll(INSTALL_PREFIX, root));
    const { stdout, stderr } = await run("systemd-analyze", ["verify", "--man=no", copy]);
    expect(`${stdout}${stderr}`.trim()).toBe("");
  });

  it("serves on loopback from its own state directory, with its key handed over as a credential", async () => {
    const unit = await readFile(UNIT, "utf8");
    for (const directive of ["Environment=THEA_FLEET_LISTEN=127.0.0.1:8090", "StateDirectory=thea-fleet", "--data-dir /var/lib/thea-fleet", "LoadCredential=fleet.key:", "--key %d/fleet.key", "DynamicUser=yes", "Restart=always"]) {
      expect(unit).toContain(directive);
    }
  });

  it("has a hardening exposure of at most 1.5 in systemd-analyze security", async () => {
    const { stdout } = await run("systemd-analyze", ["security", "--offline=true", "--no-pager", UNIT]);
    const exposure = Number(/Overall exposure level for thea-fleet\.service: ([\d.]+)/.exec(stdout)?.[1]);
    expect(exposure).toBeLessThanOrEqual(1.5);
  });
});
