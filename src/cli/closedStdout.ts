/**
 * A reader that closes the CLI's stdout early (`cache-manager list | head -c 0`) ends the CLI quietly
 * with exit 0, as `ls | head` does: the output was not wanted. EPIPE on stderr is ignored (nobody is
 * left to tell). Any other stream error is reported on stderr (when possible) and ends with exit 1.
 */
export function endQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    try {
      process.stderr.write(`cache-manager: stdout: ${err.message}\n`);
    } finally {
      process.exit(1);
    }
  });
  process.stderr.on('error', () => undefined);
}
