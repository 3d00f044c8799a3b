import { ErrorCodes } from '../errors.js';

/** The CLI contract (DESIGN §7): scripts rely on these numbers. */
export const Exit = {
  OK: 0,
  PROBLEMS: 1,
  USAGE: 2,
  UNREACHABLE: 3,
} as const;

export function exitCodeForError(code: string): number {
  switch (code) {
    case ErrorCodes.USAGE:
    case ErrorCodes.CONFIG:
      return Exit.USAGE;
    case ErrorCodes.UNREACHABLE:
      return Exit.UNREACHABLE;
    default:
      return Exit.PROBLEMS;
  }
}
