import pino, { type Logger } from 'pino';
import type { Config } from './config/config.js';

/** Paths that may hold a secret; pino replaces them before a line is written. */
const REDACTED = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.refresh_token',
  '*.access_token',
  '*.token',
  '*.key',
  '*.client_secret',
  '*.mfa_token',
  '*.secret',
  '*.backup_codes',
];

export function createLogger(level: Config['logLevel'], destination?: pino.DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACTED, censor: '[redacted]' }, base: { service: 'gatehouse' } },
    destination,
  );
}

/**
 * A one-shot command's log: warnings and worse, on stderr, one readable line each. What it warns about is
 * a condition for an operator (Redis away), not a bug, so the line carries the error's message, not its stack.
 */
export function createCommandLogger(): Logger {
  return createLogger('warn', { write: writeCommandLine });
}

function writeCommandLine(line: string): void {
  const entry = JSON.parse(line) as { level: number; msg?: string; err?: { message?: string } };
  const reason = entry.err?.message ? ` (${entry.err.message})` : '';
  process.stderr.write(`gatehouse: ${pino.levels.labels[entry.level]}: ${entry.msg ?? ''}${reason}\n`);
}

/**
 * Readable, coloured lines for a developer watching a terminal, through pino-pretty when it is installed;
 * without it the log stays JSON. pino-pretty is optional, so it is looked up at run time.
 */
export async function prettyDestination(): Promise<pino.DestinationStream | undefined> {
  const optional = 'pino-pretty';
  try {
    const { default: pretty } = (await import(optional)) as {
      default: (options: { colorize: boolean }) => pino.DestinationStream;
    };
    return pretty({ colorize: true });
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    if (missing && (error as Error).message.includes(`'${optional}'`)) return undefined;
    throw error;
  }
}
