import { execFile } from 'node:child_process';
import fs from 'node:fs';

/**
 * Samples the resident memory of a process tree (root plus every descendant, including descendants
 * orphaned after they were first seen) and keeps its peak.
 *
 * Linux: reads /proc/<pid>/stat for every process (ppid, start time, RSS) and /proc/<pid>/status of
 * tree members for VmHWM; the peak is max(max over samples of the tree's summed RSS, the largest
 * single-process VmHWM), so a process that peaked between samples still counts at least its own peak.
 * Elsewhere: `ps -A -o pid=,ppid=,rss=` (KiB), summed over the tree.
 */
export interface TreeSampler {
  /** Stops sampling and returns the peak (bytes; null when no sample saw the root's tree). */
  stop(): Promise<{ peakRssBytes: number | null; samples: number; method: 'proc' | 'ps' | 'none' }>;
}

interface ProcEntry {
  pid: number;
  ppid: number;
  key: string;
}

function readProcEntry(pid: number): ProcEntry | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // exited between readdir and read
  }
  // The command name (field 2) is in parentheses and may contain spaces or parentheses itself.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state): field N is f[N - 3].
  const ppid = Number(f[1]);
  const start = f[19] ?? '';
  if (!Number.isFinite(ppid)) return null;
  return { pid, ppid, key: `${pid}:${start}` };
}

/** Current (VmRSS) and peak (VmHWM) resident memory of one process in bytes; null once it is gone. */
function readMemory(pid: number): { rss: number; hwm: number } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0; // zombies and kernel threads have no Vm lines
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function listPids(): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

/** Members of the tree: descendants of root, plus processes seen in it before (kept by pid+start time). */
function treeOf<T extends { pid: number; ppid: number; key: string }>(all: T[], rootPid: number, seen: Set<string>): T[] {
  const children = new Map<number, T[]>();
  for (const e of all) {
    const list = children.get(e.ppid);
    if (list) list.push(e);
    else children.set(e.ppid, [e]);
  }
  const members = new Map<number, T>();
  const queue: T[] = all.filter((e) => e.pid === rootPid || seen.has(e.key));
  while (queue.length > 0) {
    const e = queue.pop() as T;
    if (members.has(e.pid)) continue;
    members.set(e.pid, e);
    for (const c of children.get(e.pid) ?? []) queue.push(c);
  }
  for (const e of members.values()) seen.add(e.key);
  return [...members.values()];
}

function startProcSampler(rootPid: number, intervalMs: number): TreeSampler {
  const seen = new Set<string>();
  let peakSum = 0;
  let peakSingle = 0;
  let samples = 0;
  let interval = intervalMs;
  const sample = (): void => {
    const t0 = performance.now();
    const all: ProcEntry[] = [];
    for (const pid of listPids()) {
      const e = readProcEntry(pid);
      if (e) all.push(e);
    }
    const tree = treeOf(all, rootPid, seen);
    if (tree.length === 0) return;
    samples++;
    let sum = 0;
    for (const e of tree) {
      const mem = readMemory(e.pid);
      if (!mem) continue;
      sum += mem.rss;
      if (mem.hwm > peakSingle) peakSingle = mem.hwm;
    }
    if (sum > peakSum) peakSum = sum;
    // A machine with very many processes makes a scan expensive: back off rather than steal the suite's CPU.
    const cost = performance.now() - t0;
    if (cost > interval / 2 && interval < 200) interval = Math.min(200, interval * 2);
  };
  let timer: NodeJS.Timeout | null = null;
  const loop = (): void => {
    sample();
    timer = setTimeout(loop, interval);
  };
  loop();
  return {
    async stop() {
      if (timer) clearTimeout(timer);
      const peak = Math.max(peakSum, peakSingle);
      return { peakRssBytes: samples > 0 ? peak : null, samples, method: 'proc' };
    },
  };
}

function psTable(): Promise<Array<{ pid: number; ppid: number; key: string; rssBytes: number }>> {
  return new Promise((resolve) => {
    execFile('ps', ['-A', '-o', 'pid=,ppid=,rss='], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err) return resolve([]);
      const rows = [];
      for (const line of stdout.split('\n')) {
        const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
        if (m) rows.push({ pid: Number(m[1]), ppid: Number(m[2]), key: m[1] as string, rssBytes: Number(m[3]) * 1024 });
      }
      resolve(rows);
    });
  });
}

function startPsSampler(rootPid: number, intervalMs: number): TreeSampler {
  const seen = new Set<string>();
  let peak = 0;
  let samples = 0;
  let stopped = false;
  let pending: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  const loop = (): void => {
    pending = psTable().then((all) => {
      const tree = treeOf(all, rootPid, seen);
      if (tree.length > 0) {
        samples++;
        const sum = tree.reduce((a, e) => a + e.rssBytes, 0);
        if (sum > peak) peak = sum;
      }
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  };
  loop();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await pending;
      return { peakRssBytes: samples > 0 ? peak : null, samples, method: 'ps' };
    },
  };
}

/** Starts sampling the tree rooted at `rootPid` every `intervalMs` (Linux default 15 ms, ps 50 ms). */
export function startTreeSampler(rootPid: number, o: { intervalMs?: number } = {}): TreeSampler {
  if (process.platform === 'linux' && fs.existsSync('/proc/self/stat')) return startProcSampler(rootPid, o.intervalMs ?? 15);
  if (process.platform === 'win32') {
    return { stop: async () => ({ peakRssBytes: null, samples: 0, method: 'none' }) };
  }
  return startPsSampler(rootPid, Math.max(o.intervalMs ?? 50, 50));
}
