import { reasonCodes } from './registry.js';

/** docs/reason-codes.md, rendered from the registry so the two cannot disagree (a test compares them). */
export function renderReasonCodesMarkdown(): string {
  const rows = Object.entries(reasonCodes).map(
    ([code, entry]) =>
      `| \`${code}\` | ${entry.status} | \`${entry.action}\` | ${entry.title} | ${entry.hint.replaceAll('|', '\\|')} |`,
  );
  return [
    '# Reason codes',
    '',
    'Every refusal Gatehouse makes carries one of these codes: in the problem body (`code`), in',
    '`WWW-Authenticate` for bearer failures, and in OAuth error bodies next to the RFC 6749 `error`.',
    '`action` is what a client should do (`refresh`, `retry`, `sign_out`, `reauthenticate`, `fix_request`,',
    '`contact_admin`): a client signs a user out only on `sign_out`.',
    '',
    '`account_locked` is recorded for operators but never shown: the caller sees `invalid_credentials`.',
    '',
    'This file is generated from `packages/server/src/errors/registry.ts` by `npm run docs`.',
    '',
    '| code | status | action | title | hint |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
