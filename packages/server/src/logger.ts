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
