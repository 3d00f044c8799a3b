import fs from 'node:fs';
import path from 'node:path';
import { z } from '../vendor/zod.js';

export const HISTORY_FILE = 'history.jsonl';

const historySuiteSchema = z.object({
  ok: z.boolean(),
  medianMs: z.number().nullable(),
  minMs: z.number().nullable(),
  maxMs: z.number().nullable(),
  peakRssBytes: z.number().nullable(),
});

const historyEntrySchema = z.object({
  reportId: z.string(),
  createdAt: z.string(),
  commit: z.string().nullable(),
  branch: z.string().nullable(),
  quick: z.boolean(),
  grade: z.string(),
  /** The run's score; null without a grade; absent in lines written before it was recorded. */
  score: z.number().nullable().optional(),
  suites: z.record(z.string(), historySuiteSchema),
  cache: z.object({ hits: z.number(), misses: z.number(), hitRate: z.number().nullable() }).nullable(),
});

/** One line of `history.jsonl`: the figures of one bench run. */
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

export function appendHistory(file: string, entry: HistoryEntry): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify(entry) + '\n');
}

/** Entries in file order; lines that do not parse are skipped and counted, never fatal. */
export function readHistory(file: string): { entries: HistoryEntry[]; skipped: number } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: 0 };
    throw err;
  }
  const entries: HistoryEntry[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = historyEntrySchema.safeParse(JSON.parse(line));
      if (parsed.success) entries.push(parsed.data);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { entries, skipped };
}
