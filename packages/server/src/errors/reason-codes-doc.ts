import { type Code, reasonCodes } from '@gatehouse/codes';

/** How an operator finds out more about a refusal with this code. */
function howToDiagnose(code: Code): string {
  if (
    code.startsWith('token_') ||
    code.startsWith('session_') ||
    code === 'subject_not_found' ||
    code.startsWith('refresh_token_')
  ) {
    return (
      '`gatehouse doctor token <token>` (or `POST /v1/admin/diagnose`) lists every check; `gatehouse events --code ' +
      code +
      '`'
    );
  }
  if (code.startsWith('key_') || code === 'client_inactive') {
    return '`gatehouse doctor token <key>`; `gatehouse clients list` shows keys, statuses and agents';
  }
  if (code === 'storage_unavailable' || code === 'overloaded' || code === 'internal_error') {
    return '`gatehouse doctor`; `/readyz`; the server log by `request_id`';
  }
  if (code === 'agent_not_found') return '`GET /v1/admin/agents`; `gatehouse clients list`';
  if (code === 'rotation_too_soon') return '`gatehouse keys list` shows when the next key was created';
  // The verifier decides these in the resource server, which records nothing in Gatehouse's events.
  if (code === 'issuer_unavailable' || code === 'issuer_misconfigured') {
    return '`curl <issuer>/.well-known/openid-configuration` from the resource server: it must answer, and name the issuer the verifier was given';
  }
  return `\`gatehouse events --code ${code}\` finds the request by its \`request_id\``;
}

/** docs/reason-codes.md, rendered from the registry so the two cannot disagree (a test compares them). */
export function renderReasonCodesMarkdown(): string {
  const escapeCell = (text: string) => text.replaceAll('|', '\\|');
  const rows = (Object.keys(reasonCodes) as Code[]).map((code) => {
    const entry = reasonCodes[code];
    return `| \`${code}\` | ${entry.status} | \`${entry.action}\` | ${escapeCell(entry.title)} | ${escapeCell(entry.hint)} | ${escapeCell(howToDiagnose(code))} |`;
  });
  return [
    '# Reason codes',
    '',
    'Every refusal Gatehouse makes carries one of these codes: in the problem body (`code`, with `hint` and',
    '`action`), in `WWW-Authenticate` for bearer failures, in OAuth error bodies next to the RFC 6749 `error`,',
    'in events and in the `gatehouse_auth_decisions_total{kind, code}` metric.',
    '',
    '`action` is what a client should do: `refresh` (get a new access token, then retry), `retry` (transient:',
    'wait for `retry-after`), `sign_out` (definitive: the session is over), `reauthenticate` (sign in again or',
    'complete a step such as MFA), `fix_request` (the request itself is wrong), `contact_admin` (only an',
    'administrator can fix it). A client signs a user out only on `sign_out`.',
    '',
    '`account_locked` is recorded for operators but never shown: the caller sees what a wrong password gets.',
    '',
    'This file is generated from `packages/codes/src/reason-codes.ts` by `npm run docs`.',
    '',
    '| code | status | action | meaning | hint | how to diagnose |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
