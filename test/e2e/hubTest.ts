import { test } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { ALIASES, startHub } from './daemon-helpers.js';
import { makeSandbox, type Sandbox, type SandboxOptions } from './harness.js';

/** A sandbox's settings besides its endpoint, which is always the file's fake Hub. */
export type HubSandboxOptions = Omit<SandboxOptions, 'endpoint'>;

/** Makes a sandbox pointed at the file's fake Hub; it is cleaned up when the test ends. */
export type MakeSandbox = (options?: HubSandboxOptions) => Sandbox;

/**
 * `test` with the fake Hub and sandboxes of the daemon/CLI integration tests:
 * - `hub`: one fake Hub (startHub) per test file, started when a test first needs it and closed
 *   after the file's last test.
 * - `sandbox(options)`: makes sandboxes on that Hub. Every sandbox a test made is cleaned up after
 *   the test and its afterEach hooks (so a hook may still stop clients that talk to its daemon).
 *   The Hub's counters are reset before any test that asks for `sandbox` or `sb` runs.
 * - `sb`: the test's own sandbox, made from `sandboxOptions` (default: every alias of ALIASES).
 *   A file sets its options once with `hubTest.extend('sandboxOptions', { ... })`.
 * - `fileSb`: one sandbox shared by every test of the file (they run in order and build on each
 *   other's state), made from `fileSandboxOptions` (set with
 *   `hubTest.extend('fileSandboxOptions', { scope: 'file' }, { ... })`) and cleaned up after the
 *   file's afterAll hooks. File-level hooks get it too: `it.beforeAll(async ({ fileSb }) => ...)`.
 */
export const hubTest = test
  .extend('hub', { scope: 'file' }, async ({}, { onCleanup }): Promise<FakeHub> => {
    const hub = await startHub();
    onCleanup(() => hub.close());
    return hub;
  })
  .extend('sandboxOptions', { models: { ...ALIASES } } as HubSandboxOptions)
  .extend('sandbox', async ({ hub }, { onCleanup }): Promise<MakeSandbox> => {
    hub.counters.reset();
    const made: Sandbox[] = [];
    onCleanup(async () => {
      for (const s of made.splice(0)) await s.cleanup();
    });
    return (options = {}) => {
      const s = makeSandbox({ ...options, endpoint: hub.endpoint });
      made.push(s);
      return s;
    };
  })
  .extend('sb', async ({ sandbox, sandboxOptions }): Promise<Sandbox> => sandbox(sandboxOptions))
  .extend('fileSandboxOptions', { scope: 'file' }, { models: { ...ALIASES } } as HubSandboxOptions)
  .extend('fileSb', { scope: 'file' }, async ({ hub, fileSandboxOptions }, { onCleanup }): Promise<Sandbox> => {
    const s = makeSandbox({ ...fileSandboxOptions, endpoint: hub.endpoint });
    onCleanup(() => s.cleanup());
    return s;
  });
