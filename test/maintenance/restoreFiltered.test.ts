import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCacheError } from '../../src/errors.js';
import { restore } from '../../src/maintenance/restore.js';
import { storedSubfolder } from '../../src/origin/fileFilter.js';
import { parseModelRef } from '../../src/origin/modelRef.js';
import { addModel, makeSandbox, whisperFiles, type Sandbox } from './fixtures.js';

const VARIANT = 'openai_whisper-tiny';
const TOKENIZER = {
  'tokenizer.json': Buffer.from('{"model":"bpe"}'),
  'vocab.json': Buffer.from('{"a":1}'),
  'merges.txt': Buffer.from('#version: 0.2\na b\n'),
};

let sb: Sandbox;
afterEach(() => sb?.close());

describe('restore of filtered snapshots and the WhisperKit tokenizer', () => {
  it('a filtered snapshot is laid out at its folder: the filter tag is not a folder of the repo', async () => {
    sb = makeSandbox();
    const ref = parseModelRef(`${VARIANT}[include=*.json]`, {});
    const files = whisperFiles('f');
    const json = Object.fromEntries(Object.entries(files).filter(([p]) => p.endsWith('.json')));
    const model = await addModel(sb.cache, { repo: ref.repo, subfolder: storedSubfolder(ref), files: json });
    const base = path.join(sb.root, 'wk');
    const r = await restore(sb.deps(), { model, to: base, layout: 'whisperkit', ref: 'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny[include=*.json]' });
    expect(r.path).toBe(path.join(base, 'models', 'argmaxinc', 'whisperkit-coreml', VARIANT));
    expect(fs.readFileSync(path.join(r.path, 'config.json')).equals(files['config.json']!)).toBe(true);

    const hub = path.join(sb.root, 'hub');
    const h = await restore(sb.deps(), { model, to: hub, layout: 'hf', ref: 'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny[include=*.json]' });
    const repoDir = path.join(hub, 'models--argmaxinc--whisperkit-coreml');
    expect(h.path).toBe(path.join(repoDir, 'snapshots', model.commit, VARIANT));
    expect(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8')).toBe(model.commit);
    expect(fs.readFileSync(path.join(h.path, 'config.json')).equals(files['config.json']!)).toBe(true);
  });

  it('whisperkit layout with a tokenizer: <variant>/tokenizer/ and models/<tokenizer repo>/', async () => {
    sb = makeSandbox();
    const model = await addModel(sb.cache, { repo: 'argmaxinc/whisperkit-coreml', subfolder: VARIANT, files: whisperFiles('t') });
    const tokRef = parseModelRef('openai/whisper-tiny[include=tokenizer*.json,vocab.json,merges.txt]', {});
    const tokenizer = await addModel(sb.cache, { repo: tokRef.repo, subfolder: storedSubfolder(tokRef), files: TOKENIZER });
    const base = path.join(sb.root, 'Documents', 'huggingface');
    const r = await restore(sb.deps(), { model, to: base, layout: 'whisperkit', ref: `argmaxinc/whisperkit-coreml@main:${VARIANT}`, tokenizer });
    expect(r.files).toBe(model.fileCount + 3);
    for (const dir of [path.join(r.path, 'tokenizer'), path.join(base, 'models', 'openai', 'whisper-tiny')]) {
      expect(fs.readdirSync(dir).sort()).toEqual(['merges.txt', 'tokenizer.json', 'vocab.json']);
      for (const [p, b] of Object.entries(TOKENIZER)) expect(fs.readFileSync(path.join(dir, p)).equals(b)).toBe(true);
    }
    // Idempotent.
    await restore(sb.deps(), { model, to: base, layout: 'whisperkit', ref: `argmaxinc/whisperkit-coreml@main:${VARIANT}`, tokenizer });

    const err = await restore(sb.deps(), { model, to: path.join(sb.root, 'p'), layout: 'plain', ref: 'x', tokenizer }).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_BAD_REQUEST');
  });
});
