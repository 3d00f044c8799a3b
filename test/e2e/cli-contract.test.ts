import { describe, expect } from 'vitest';
import { hubTest } from './hubTest.js';

/** What the CLI promises where users were surprised: no silent no-ops, refusals that name the way out. */
const it = hubTest;

describe('warm', () => {
  it('with no model named and no aliases configured says so and exits non-zero', async ({ sandbox }) => {
    const sb = sandbox({ models: {} });
    const r = await sb.cli(['warm']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing to warm/);
    expect(r.stderr).toContain(sb.configPath);
    const j = await sb.cli(['--json', 'warm']);
    expect(j.code).toBe(2);
    expect(j.json<{ error: { code: string } }>().error.code).toBe('E_USAGE');
  });
});

describe('evict', () => {
  it('refuses a pinned model with E_IN_USE and says to unpin it; after unpin it evicts', async ({ sb }) => {
    expect((await sb.cli(['get', 'whisper-tiny'])).code).toBe(0);
    expect((await sb.cli(['pin', 'whisper-tiny'])).code).toBe(0);
    const refused = await sb.cli(['--json', 'evict', 'whisper-tiny']);
    expect(refused.code).toBe(1);
    const e = refused.json<{ error: { code: string; message: string } }>().error;
    expect(e.code).toBe('E_IN_USE');
    expect(e.message).toMatch(/pinned; unpin it first/);
    const list = await sb.cli(['--json', 'list']);
    expect(list.json<{ models: Array<{ pinned: boolean }> }>().models).toEqual([expect.objectContaining({ pinned: true })]);
    expect((await sb.cli(['unpin', 'whisper-tiny'])).code).toBe(0);
    expect((await sb.cli(['evict', 'whisper-tiny'])).code).toBe(0);
    expect((await sb.cli(['--json', 'list'])).json<{ models: unknown[] }>().models).toEqual([]);
  });
});
