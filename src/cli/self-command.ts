/**
 * The shell command line that runs this very pgconvoy, for commands that other programs run later (the
 * restore_command PostgreSQL's startup process runs as its own OS user, in the data directory, with its own PATH).
 * So: absolute paths only, the Node binary by process.execPath, and the entry point next to this module: the
 * compiled main.js, or main.ts with the tsx loader when running from source.
 */
import { fileURLToPath } from 'node:url';

export function selfCommand(args: readonly string[]): string {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './main.ts' : './main.js', import.meta.url));
  const loader = fromSource ? ['--import', import.meta.resolve('tsx')] : [];
  return [process.execPath, ...loader, entry].map(shellQuote).concat(args).join(' ');
}

/** Single quotes, with any single quote inside closed, escaped and reopened. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
