import path from 'node:path';

/**
 * Where things live per OS, and how config paths are written. Pure: platform, env and home are inputs.
 * Every function returns absolute, normalised POSIX paths.
 */

export const CONFIG_FILE_NAME = 'cache-config.json';

/** Expands `~` / `~/…` to `home` and resolves a relative path against `baseDir`. `~user` is refused. */
export function expandPath(p: string, baseDir: string, home: string): string {
  if (p === '~') return path.resolve(home);
  if (p.startsWith('~/')) return path.resolve(home, p.slice(2));
  if (p.startsWith('~')) throw new Error(`${JSON.stringify(p)}: only "~" and "~/..." are expanded (not ~user)`);
  return path.resolve(baseDir, p);
}

/**
 * The nearest `cache-config.json` in `cwd` or one of its parents (a repository's top level, say), or null.
 * `isFile` is the only I/O, injected.
 */
export function findProjectConfig(cwd: string, isFile: (p: string) => boolean): string | null {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, CONFIG_FILE_NAME);
    if (isFile(candidate)) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

/** An XDG base dir from the environment: used only when set to an absolute path (as the spec requires). */
function xdgDir(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const v = env[name];
  return v && path.isAbsolute(v) ? path.resolve(v) : fallback;
}

/** The per-user config file: macOS `~/Library/Application Support/Vocorize/`, elsewhere `$XDG_CONFIG_HOME/vocorize/`. */
export function userConfigPath(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string {
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Vocorize', CONFIG_FILE_NAME);
  return path.join(xdgDir(env, 'XDG_CONFIG_HOME', path.join(home, '.config')), 'vocorize', CONFIG_FILE_NAME);
}

/** The built-in cache dir: macOS `~/Library/Caches/Vocorize/models`, elsewhere `$XDG_CACHE_HOME/vocorize/models`. */
export function defaultCacheDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string {
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'Vocorize', 'models');
  return path.join(xdgDir(env, 'XDG_CACHE_HOME', path.join(home, '.cache')), 'vocorize', 'models');
}

/**
 * The daemon's log file when the config names none: macOS `~/Library/Logs/Vocorize/cache-manager.log`,
 * elsewhere `$XDG_STATE_HOME/vocorize/cache-manager.log` (default `~/.local/state`). Outside the cache
 * dir on purpose: deleting the cache must not delete the log that says what happened.
 */
export function defaultLogFile(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string {
  if (platform === 'darwin') return path.join(home, 'Library', 'Logs', 'Vocorize', 'cache-manager.log');
  return path.join(xdgDir(env, 'XDG_STATE_HOME', path.join(home, '.local', 'state')), 'vocorize', 'cache-manager.log');
}

export function defaultSocketPath(cacheDir: string): string {
  return path.join(cacheDir, 'run', 'daemon.sock');
}

/** sun_path size: a socket path's byte length must be strictly below this. */
export function socketPathLimit(platform: NodeJS.Platform): number {
  return platform === 'linux' || platform === 'android' ? 108 : 104;
}

/**
 * huggingface_hub's token file: `$HF_TOKEN_PATH`, else `$HF_HOME/token`, HF_HOME defaulting to
 * `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
 */
export function hfTokenPath(env: NodeJS.ProcessEnv, home: string, cwd: string): string {
  if (env.HF_TOKEN_PATH) return expandPath(env.HF_TOKEN_PATH, cwd, home);
  const hfHome = env.HF_HOME
    ? expandPath(env.HF_HOME, cwd, home)
    : path.join(xdgDir(env, 'XDG_CACHE_HOME', path.join(home, '.cache')), 'huggingface');
  return path.join(hfHome, 'token');
}
