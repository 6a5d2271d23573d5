// The local PostgreSQL's check for a clone that the `postgres` account cannot reach (root's
// home, any 0700 parent): found before initdb, so npm start says it in one line.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { firstUntraversable } from '../../scripts/local/postgres.ts';

const STRANGER = { uid: 54_321, gid: 54_321 };

test('a 0700 folder on the way stops another account; a 0755 one does not', () => {
  const top = mkdtempSync(path.join(os.tmpdir(), 'reach-'));
  try {
    const target = path.join(top, 'clone', '.local', 'dev', 'postgres');
    mkdirSync(path.join(top, 'clone'), { recursive: true });
    chmodSync(top, 0o755);
    chmodSync(path.join(top, 'clone'), 0o700);
    assert.equal(firstUntraversable(target, STRANGER), path.join(top, 'clone'), 'the private clone is named');
    chmodSync(path.join(top, 'clone'), 0o755);
    assert.equal(firstUntraversable(target, STRANGER), undefined, 'a folder anyone may enter is reachable (its missing children included)');
    chmodSync(path.join(top, 'clone'), 0o750);
    const owner = { uid: process.getuid?.() ?? 0, gid: 54_321 };
    assert.equal(firstUntraversable(target, owner), undefined, "the owner's own bit counts for the owner");
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});
