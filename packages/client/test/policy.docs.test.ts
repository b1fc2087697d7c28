import { readFile } from 'node:fs/promises';
import { type Code, reasonCodes } from '@gatehouse/codes';
import { describe, expect, it } from 'vitest';
import {
  FAILURE_CONTRACT_END,
  FAILURE_CONTRACT_START,
  renderFailureContract,
} from '../src/failure-contract-doc.js';
import { DEFAULT_RETRY, type DecisionContext, decide, retryDelay } from '../src/policy.js';

const codes = Object.keys(reasonCodes) as Code[];
const outcomeOf = (code: Code) => ({ ok: false as const, code, ...reasonCodes[code] });
const contexts: DecisionContext[] = [
  { exchange: 'api', canRefresh: true, cookieMode: false, idempotent: true },
  { exchange: 'api', canRefresh: false, cookieMode: false, idempotent: false },
  { exchange: 'api', canRefresh: true, cookieMode: true, idempotent: true },
  { exchange: 'refresh', canRefresh: false, cookieMode: false, idempotent: true },
  { exchange: 'anonymous', canRefresh: false, cookieMode: false, idempotent: true },
];

describe('the failure policy', () => {
  it('matches the table in docs/sdk.md (run `npm run docs` after changing the registry or the policy)', async () => {
    const published = await readFile(new URL('../../../docs/sdk.md', import.meta.url), 'utf8');
    const start = published.indexOf(FAILURE_CONTRACT_START);
    const end = published.indexOf(FAILURE_CONTRACT_END) + FAILURE_CONTRACT_END.length;
    expect(start).toBeGreaterThan(0);
    expect(published.slice(start, end)).toBe(renderFailureContract());
  });

  it('never ends a session on a passing failure, whatever the exchange', () => {
    const passing = [
      ...codes.filter((code) => reasonCodes[code].action === 'retry').map(outcomeOf),
      { ok: false as const, status: 502 },
      { ok: false as const, status: 429 },
    ];
    for (const outcome of passing) {
      for (const context of contexts)
        expect(decide(outcome, context), JSON.stringify(outcome)).toMatchObject({ kind: 'retry' });
    }
    expect(decide({ ok: false, networkError: true }, contexts[0]!)).toEqual({ kind: 'retry' });
  });

  it("hands a resource server's wrong issuer back to the caller: not retried, and no session ends over it", () => {
    for (const context of contexts) {
      expect(decide(outcomeOf('issuer_misconfigured'), context), context.exchange).toEqual({
        kind: 'give_up',
      });
    }
  });

  it('with tokens, asks the refresh endpoint before ending a session over an ordinary request', () => {
    for (const code of codes) {
      expect(decide(outcomeOf(code), contexts[0]!).kind, code).not.toBe('sign_out');
    }
    expect(decide(outcomeOf('session_revoked'), contexts[0]!)).toEqual({ kind: 'refresh' });
    expect(decide(outcomeOf('session_revoked'), contexts[1]!)).toEqual({
      kind: 'sign_out',
      code: 'session_revoked',
    });
    expect(decide(outcomeOf('refresh_token_reused'), contexts[3]!)).toEqual({
      kind: 'sign_out',
      code: 'refresh_token_reused',
    });
    expect(decide(outcomeOf('validation_failed'), contexts[3]!)).toEqual({ kind: 'give_up' });
    expect(decide({ ok: false, status: 404 }, contexts[3]!)).toEqual({ kind: 'give_up' });
  });

  it('backs off with jitter, honours retry-after, and stops within the budget', () => {
    const low = () => 0;
    const high = () => 0.999;
    expect(retryDelay(1, 0, undefined, DEFAULT_RETRY, low)).toBe(250);
    expect(retryDelay(3, 0, undefined, DEFAULT_RETRY, high)).toBeCloseTo(2000, -1);
    expect(retryDelay(7, 0, undefined, DEFAULT_RETRY, low)).toBe(4000);
    expect(retryDelay(1, 0, 2000, DEFAULT_RETRY, low)).toBe(2000);
    expect(retryDelay(1, 0, 2000, DEFAULT_RETRY, high)).toBeLessThan(2500);
    expect(retryDelay(DEFAULT_RETRY.maxAttempts, 0, undefined, DEFAULT_RETRY, low)).toBeUndefined();
    expect(retryDelay(1, 29_000, 2000, DEFAULT_RETRY, low)).toBeUndefined();
  });
});
