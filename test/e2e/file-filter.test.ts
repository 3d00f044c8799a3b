import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { WHISPER_TOKENIZER_FILES, whisperTokenizerRepo } from '../../dev/fixtures/generate.js';
import { getJson, listModels, variantFiles, wkFileGets } from './daemon-helpers.js';
import { hubTest } from './hubTest.js';

/** File filters (`[include=…;exclude=…]`, --include/--exclude) and restore --with-tokenizer, through the CLI and the fake Hub. */

const OPENAI = 'openai/whisper-tiny';
const it = hubTest.extend('sandboxOptions', { models: { tok: `${OPENAI}[include=tokenizer*.json,vocab.json,merges.txt]` } });

/** GET requests for file content of openai/whisper-tiny, by repo-relative path. */
function openaiFileGets(hub: { counters: { log: Array<{ method: string; path: string }> } }): string[] {
  const prefix = `/${OPENAI}/resolve/`;
  return hub.counters.log
    .filter((r) => r.method === 'GET' && r.path.startsWith(prefix))
    .map((r) => r.path.slice(prefix.length).split('/').slice(1).join('/'))
    .sort();
}

const fixture = whisperTokenizerRepo('tiny');
const bytesOf = (p: string): Buffer => fixture.files.find((f) => f.path === p)!.bytes;

describe('filtered get', () => {
  it('downloads only the matching files; filtered and unfiltered gets are separate models sharing blobs, and both verify clean', async ({ hub, sb }) => {
    if (!hub.repos.has(OPENAI)) hub.publish(fixture);
    hub.counters.reset();

    const filtered = await getJson(sb, 'tok');
    expect(filtered.hit).toBe(false);
    expect(openaiFileGets(hub)).toEqual(['merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
    expect(filtered.files).toBe(4);
    expect(fs.readdirSync(filtered.path).sort()).toEqual(['merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
    expect(fs.readFileSync(path.join(filtered.path, 'vocab.json')).equals(bytesOf('vocab.json'))).toBe(true);
    expect(filtered.model).toMatch(/^openai\/whisper-tiny:\+filter-[0-9a-f]{12}@[0-9a-f]{40}$/);

    // The same filter written on the command line is the same model: a hit, no download.
    hub.counters.reset();
    const again = await sb.cli(['--json', 'get', OPENAI, '--include', 'vocab.json,merges.txt', '--include', 'tokenizer*.json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ hit: boolean; path: string }>()).toMatchObject({ hit: true, path: filtered.path });
    expect(openaiFileGets(hub)).toEqual([]);

    // Unfiltered: its own model and folder; only the files the store lacks are downloaded.
    const full = await getJson(sb, OPENAI);
    expect(full.hit).toBe(false);
    expect(full.path).not.toBe(filtered.path);
    expect(full.model).toBe(`${OPENAI}@${filtered.commit}`);
    expect(full.files).toBe(fixture.files.length);
    expect(openaiFileGets(hub)).toEqual(
      fixture.files.map((f) => f.path).filter((p) => !['merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json'].includes(p)).sort(),
    );
    // And the filtered one still answers with its own (smaller) snapshot.
    const filteredAgain = await getJson(sb, 'tok');
    expect(filteredAgain).toMatchObject({ hit: true, path: filtered.path, files: 4 });

    expect((await listModels(sb)).map((m) => m.model).sort()).toEqual([filtered.model, full.model].sort());
    const verify = await sb.cli(['--json', 'verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.json<{ ok: boolean; models: Array<{ status: string }> }>()).toMatchObject({ ok: true });
  });

  it('a filter that selects nothing fails with E_ENTRY_NOT_FOUND naming the patterns', async ({ hub, sb }) => {
    if (!hub.repos.has(OPENAI)) hub.publish(fixture);
    const r = await sb.cli(['--json', 'get', OPENAI, '--include', '*.gguf']);
    expect(r.code).not.toBe(0);
    const err = r.json<{ error: { code: string; message: string } }>().error;
    expect(err.code).toBe('E_ENTRY_NOT_FOUND');
    expect(err.message).toContain('[include=*.gguf]');
  });
});

describe('restore --layout whisperkit --with-tokenizer', () => {
  it('places the variant and its tokenizer (fetched filtered from openai/whisper-tiny); offline without it cached is E_OFFLINE', async ({ hub, sb, sandbox }) => {
    if (!hub.repos.has(OPENAI)) hub.publish(fixture);
    hub.counters.reset();
    const to = path.join(sb.root, 'Documents', 'huggingface');
    const r = await sb.cli(['--json', 'restore', 'openai_whisper-tiny', '--to', to, '--layout', 'whisperkit', '--with-tokenizer']);
    expect(r.code, r.stderr).toBe(0);
    const variantDir = path.join(to, 'models', 'argmaxinc', 'whisperkit-coreml', 'openai_whisper-tiny');
    expect(r.json<{ path: string; files: number }>()).toMatchObject({
      path: variantDir,
      files: variantFiles('openai_whisper-tiny').count + WHISPER_TOKENIZER_FILES.length,
    });
    // Only the tokenizer files of openai/whisper-tiny were downloaded, never its weights.
    expect(openaiFileGets(hub)).toEqual([...WHISPER_TOKENIZER_FILES].sort());
    expect(wkFileGets(hub)).toBe(variantFiles('openai_whisper-tiny').count);
    for (const dir of [path.join(variantDir, 'tokenizer'), path.join(to, 'models', 'openai', 'whisper-tiny')]) {
      expect(fs.readdirSync(dir).sort()).toEqual([...WHISPER_TOKENIZER_FILES].sort());
      expect(fs.readFileSync(path.join(dir, 'tokenizer.json')).equals(bytesOf('tokenizer.json'))).toBe(true);
    }
    expect(fs.existsSync(path.join(variantDir, 'config.json'))).toBe(true);

    // Re-running is a no-op (everything already in place).
    const again = await sb.cli(['--json', 'restore', 'openai_whisper-tiny', '--to', to, '--layout', 'whisperkit', '--with-tokenizer']);
    expect(again.code, again.stderr).toBe(0);

    // A cache that has the variant but not the tokenizer cannot fetch it offline.
    const other = sandbox({ models: {} });
    expect((await other.cli(['get', 'openai_whisper-tiny'])).code).toBe(0);
    expect((await other.cli(['daemon', 'stop'])).code).toBe(0);
    const offline = await other.cli(['--json', 'restore', 'openai_whisper-tiny', '--to', path.join(other.root, 'wk'), '--layout', 'whisperkit', '--with-tokenizer'], {
      env: { HF_HUB_OFFLINE: '1' },
      timeoutMs: 15_000,
    });
    expect(offline.code).not.toBe(0);
    const err = offline.json<{ error: { code: string; message: string } }>().error;
    expect(err.code).toBe('E_OFFLINE');
    expect(err.message).toContain(OPENAI);
  });

  it('--with-tokenizer needs the whisperkit layout', async ({ sb }) => {
    const r = await sb.cli(['restore', 'openai_whisper-tiny', '--to', path.join(sb.root, 'x'), '--with-tokenizer']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--layout whisperkit');
  });
});
