/**
 * Where the throwaway servers find pgTAP's files (scripts/lib/prepare-database.ts): the
 * first place holding pgtap.control, with `*` matching within a path segment, so that a
 * Homebrew or RPM install serves as well as Debian's.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findPgtap } from "../../scripts/lib/prepare-database.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "sg-pgtap-places-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function install(relative: string): string {
  const dir = path.join(root, relative);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "pgtap.control"), "default_version = '1.2.0'\n");
  return dir;
}

describe("findPgtap", () => {
  it("takes the first place that holds pgtap.control, matching * within a segment", async () => {
    mkdirSync(path.join(root, "empty", "extension"), { recursive: true });
    const brew16 = install("brew/share/postgresql@16/extension");
    install("brew/share/postgresql@14/extension");
    expect(await findPgtap([undefined, path.join(root, "empty", "extension"), path.join(root, "brew/share/postgresql*/extension")]))
      .toBe(brew16);
  });

  it("finds nothing where nothing is installed", async () => {
    expect(await findPgtap([path.join(root, "nowhere/*/extension"), path.join(root, "empty", "extension")])).toBeUndefined();
  });
});
