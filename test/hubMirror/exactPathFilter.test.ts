import { describe, expect, it } from 'vitest';
import { encodeExactPath, fileMatcher, fileFilterText, parseFileFilter, selectFiles, storedSubfolder } from '../../src/origin/fileFilter.js';
import { canonicalRef, parseModelRef } from '../../src/origin/modelRef.js';
import { fileRefOf, accountedModelOf } from '../../src/service/hubService.js';

describe('the exact-path filter clause (file=)', () => {
  it('selects exactly the named paths, no pattern syntax', () => {
    const f = parseFileFilter('file=a/*.bin,b/c%2Cd.json');
    expect(f.files).toEqual(['a/*.bin', 'b/c,d.json']);
    const m = fileMatcher(f);
    expect(m('a/*.bin')).toBe(true);
    expect(m('a/x.bin')).toBe(false);
    expect(m('b/c,d.json')).toBe(true);
  });

  it('round-trips through the canonical reference, with characters the filter text reserves encoded', () => {
    const ref = fileRefOf('org/name', 'a'.repeat(40), 'dir/we ird;[name],%.bin');
    const text = canonicalRef(ref);
    expect(text).toBe(`org/name@${'a'.repeat(40)}[file=dir/we%20ird%3B%5Bname%5D%2C%25.bin]`);
    expect(parseModelRef(text, {})).toEqual(ref);
    expect(fileFilterText(ref.filter!)).toBe(`[file=${encodeExactPath('dir/we ird;[name],%.bin')}]`);
    expect(storedSubfolder(ref)).toMatch(/^\+filter-[0-9a-f]{12}$/);
    expect(selectFiles(ref, [{ path: 'dir/we ird;[name],%.bin' }, { path: 'other' }])).toEqual([{ path: 'dir/we ird;[name],%.bin' }]);
  });

  it('refuses unsafe or non-canonical paths', () => {
    for (const inner of ['file=', 'file=a/../b', 'file=%2Fetc', 'file=a%5Cb', 'file=a%00b', 'file=a%2', 'file=a%2fb', 'file=a b']) {
      expect(() => parseFileFilter(inner), inner).toThrow(/bad file filter/);
    }
  });

  it('names a file request in accounting by its repo, or repo and top folder', () => {
    expect(accountedModelOf('o/n', 'c'.repeat(40), 'config.json')).toBe(`o/n@${'c'.repeat(40)}`);
    expect(accountedModelOf('o/n', 'c'.repeat(40), 'v/A.mlmodelc/w.bin')).toBe(`o/n:v@${'c'.repeat(40)}`);
  });
});
