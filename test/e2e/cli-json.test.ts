import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { hubTest } from './hubTest.js';

/** One documented --json shape per command, and usage errors that scripts can read. */
const it = hubTest;

type ErrorDoc = { error: { code: string; message: string } };

describe('usage errors', () => {
  it('an unknown option, a missing argument and an unknown command exit 2; with --json stdout is an E_USAGE document', async ({ sb }) => {
    for (const args of [['list', '--nosuch'], ['get'], ['nosuch'], ['help', 'nosuch']]) {
      const human = await sb.cli(args);
      expect(human.code, args.join(' ')).toBe(2);
      expect(human.stdout, args.join(' ')).toBe('');
      expect(human.stderr.length, args.join(' ')).toBeGreaterThan(0);
      const j = await sb.cli(['--json', ...args]);
      expect(j.code, args.join(' ')).toBe(2);
      const e = j.json<ErrorDoc>().error;
      expect(e.code, args.join(' ')).toBe('E_USAGE');
      expect(e.message.length).toBeGreaterThan(0);
    }
  });

  it('help names the unknown command it cannot explain; help <command> still exits 0', async ({ sb }) => {
    const r = await sb.cli(['help', 'nosuch']);
    expect(r.stderr).toMatch(/no command "nosuch"/);
    const ok = await sb.cli(['help', 'get']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/--hold/);
  });
});

describe('shapes', () => {
  it('daemon status and status both say uptimeMs', async ({ sb }) => {
    expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
    const d = (await sb.cli(['--json', 'daemon', 'status'])).json<Record<string, unknown>>();
    expect(typeof d.uptimeMs).toBe('number');
    expect(d).not.toHaveProperty('uptime');
    const s = (await sb.cli(['--json', 'status'])).json<{ daemon: Record<string, unknown> }>();
    expect(typeof s.daemon.uptimeMs).toBe('number');
  });

  it('report --json has one shape with and without --out, whatever the format', async ({ sb }) => {
    expect((await sb.cli(['get', 'whisper-tiny'])).code).toBe(0);
    const out = path.join(sb.root, 'r.html');
    const docs = [
      (await sb.cli(['--json', 'report'])).json<Record<string, unknown>>(),
      (await sb.cli(['--json', 'report', '--format', 'json'])).json<Record<string, unknown>>(),
      (await sb.cli(['--json', 'report', '--format', 'html', '--out', out])).json<Record<string, unknown>>(),
    ];
    for (const d of docs) expect(Object.keys(d).sort()).toEqual(['data', 'format', 'out', 'text']);
    expect(docs.map((d) => d.out)).toEqual([null, null, out]);
    expect(docs[2]!.text).toBe(fs.readFileSync(out, 'utf8'));
    expect(JSON.parse(docs[1]!.text as string)).toEqual(docs[1]!.data);
  });

  it('restore answers with to (the destination) as the protocol documents', async ({ sb }) => {
    const to = path.join(sb.root, 'out');
    const r = await sb.cli(['--json', 'restore', 'whisper-tiny', '--to', to, '--layout', 'hf']);
    expect(r.code, r.stderr).toBe(0);
    const d = r.json<{ to: string; path: string }>();
    expect(d.to).toBe(to);
    expect(d.path.startsWith(to + path.sep)).toBe(true);
  });

  it('config show prints a config file that config validate accepts and that resolves to the same config', async ({ sb }) => {
    sb.writeConfig({ leaseTtl: '45m', frameLimit: '2MiB', accounting: { retention: '30d' } });
    const shown = await sb.cli(['config', 'show']);
    expect(shown.code, shown.stderr).toBe(0);
    const file = JSON.parse(shown.stdout) as Record<string, unknown>;
    expect(file).toMatchObject({ leaseTtl: '45m', frameLimit: '2MiB', maxSize: '1GB', accounting: { retention: '30d' } });
    expect(file).not.toHaveProperty('leaseTtlMs');
    expect(file).not.toHaveProperty('frameLimitBytes');
    expect(file).not.toHaveProperty('source');
    expect((await sb.cli(['--json', 'config', 'show'])).json()).toEqual(file);

    const copy = path.join(sb.root, 'shown.json');
    fs.writeFileSync(copy, shown.stdout);
    const v = await sb.cli(['config', 'validate', copy]);
    expect(v.code, v.stderr).toBe(0);
    const resolvedOf = async (config: string) => {
      const r = (await sb.cli(['--json', '--config', config, 'config', 'show', '--resolved'])).json<Record<string, unknown>>();
      delete r.source;
      return r;
    };
    const original = await resolvedOf(sb.configPath);
    expect(original).toMatchObject({ leaseTtlMs: 45 * 60_000, frameLimitBytes: 2 * 1024 * 1024 });
    expect(await resolvedOf(copy)).toEqual(original);
  });
});
