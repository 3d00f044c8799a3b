import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { carriesSecret, loadOrCreateSecret } from '../../src/hubMirror/localSecret.js';
import { useTempDir } from '../support/useTempDir.js';

const tmp = useTempDir('vc-secret-');

describe('the local secret', () => {
  it('is written 0600 once and read back on the next start', () => {
    const file = path.join(tmp.path, 'run', 'hub-secret');
    const a = loadOrCreateSecret(file);
    expect(a).toMatch(/^hf_local_[0-9a-f]{48}$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecret(file)).toBe(a);
  });

  it('is replaced when the file is readable by others or holds something else', () => {
    const file = path.join(tmp.path, 'hub-secret');
    const a = loadOrCreateSecret(file);
    fs.chmodSync(file, 0o644);
    const b = loadOrCreateSecret(file);
    expect(b).not.toBe(a);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.writeFileSync(file, 'not a secret', { mode: 0o600 });
    expect(loadOrCreateSecret(file)).toMatch(/^hf_local_/);
  });

  it('is recognised only as a Bearer token, exactly', () => {
    const s = `hf_local_${'a'.repeat(48)}`;
    expect(carriesSecret(`Bearer ${s}`, s)).toBe(true);
    expect(carriesSecret(`bearer ${s}`, s)).toBe(true);
    expect(carriesSecret(s, s)).toBe(false);
    expect(carriesSecret(`Bearer ${s}x`, s)).toBe(false);
    expect(carriesSecret('Bearer hf_other', s)).toBe(false);
    expect(carriesSecret(undefined, s)).toBe(false);
  });
});
