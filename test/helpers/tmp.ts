import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** A fresh scratch directory; call the returned cleanup in afterAll/afterEach. */
export function scratch(prefix = 'hacktree-test-'): { dir: string; cleanup: () => void } {
  const base = process.env.HACKTREE_TEST_TMP ?? os.tmpdir();
  const dir = fs.mkdtempSync(join(base, prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
