import { type Code, reasonCodes } from '@gatehouse/codes';
import { compactVerify, decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { Kysely } from 'kysely';
import type { ApiKeys } from '../apikeys/api-keys.js';
import { API_KEY_PREFIX, type InputNote, normalizeCredential, previewApiKey } from '../apikeys/key-format.js';
import { type Clock, toIso } from '../clock.js';
import { ALLOWED_ALGS, type Keyring } from '../keyring/keyring.js';
import { previewSecret } from '../secrets/digest.js';
import { findRefreshTokenByHash, findRefreshTokenById } from '../store/refresh-tokens-store.js';
import type { Database } from '../store/schema.js';
import { findSession } from '../store/sessions-store.js';
import { findUserById, findUserTombstone } from '../store/users-store.js';
import {
  hashRefreshToken,
  isRefreshTokenShaped,
  REFRESH_TOKEN_PREFIX,
} from '../tokens/refresh-token-format.js';
import { type Check, CheckTrail } from './check.js';

export type TokenKind = 'access_token' | 'refresh_token' | 'api_key' | 'jwt' | 'unknown';

export interface Diagnosis {
  /** `jwt` is a JWT this installation did not issue (another issuer or key). */
  kind: TokenKind;
  valid: boolean;
  code: Code | 'ok';
  checks: Check[];
  hint: string;
  preview: string;
  stripped: InputNote[];
  server_time: string;
}

export interface DiagnoseOptions {
  db: Kysely<Database>;
  clock: Clock;
  keyring: Keyring;
  apiKeys: ApiKeys;
  issuer: string;
  audience: string[];
  clockSkewSeconds: number;
  refreshGraceSeconds: number;
  sessionIdleTimeoutSeconds: number;
}

/** "3m 12s": a duration a person reads at a glance. */
export function humanDuration(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor((seconds % 86_400) / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ];
  const shown = parts.filter(([value]) => value > 0).slice(0, 2);
  return shown.length ? shown.map(([value, unit]) => `${value}${unit}`).join(' ') : '0s';
}

type Verdict = { code: Code | 'ok'; hint?: string };

export function createTokenDoctor(options: DiagnoseOptions) {
  const { db, clock, keyring, issuer, audience, clockSkewSeconds } = options;

  /** Session, subject and account: the live state behind a token, shared by access and refresh tokens. */
  async function checkSessionAndSubject(
    trail: CheckTrail,
    sessionId: string | undefined,
    subject: string | undefined,
  ): Promise<Verdict | undefined> {
    const now = clock.now();
    if (sessionId) {
      const session = await findSession(db, sessionId);
      if (!session) {
        const deleted = subject ? await findUserTombstone(db, subject) : undefined;
        if (deleted) {
          trail.skip('session', `Session ${sessionId} went with its user`);
          trail.fail('subject', `User ${subject} was deleted at ${toIso(deleted.deleted_at)}`);
          return { code: 'subject_not_found', hint: 'The user was deleted; create a new account.' };
        }
        trail.fail(
          'session',
          `Session ${sessionId} does not exist in this database (restored from an older backup, or replaced?)`,
        );
        return { code: 'subject_not_found' };
      }
      if (session.revoked_at !== null) {
        trail.fail(
          'session',
          `Revoked at ${toIso(session.revoked_at)} (${session.revoked_reason ?? 'no reason recorded'})`,
        );
        return {
          code: 'session_revoked',
          hint: `${reasonCodes.session_revoked.hint} (reason: ${session.revoked_reason})`,
        };
      } else if (session.expires_at <= now) {
        trail.fail('session', `Reached its absolute timeout at ${toIso(session.expires_at)}`);
        return { code: 'session_expired' };
      } else if (session.last_used_at + options.sessionIdleTimeoutSeconds * 1000 <= now) {
        trail.fail(
          'session',
          `Idle since ${toIso(session.last_used_at)}: past the ${humanDuration(options.sessionIdleTimeoutSeconds * 1000)} idle timeout`,
        );
        return { code: 'session_expired' };
      } else {
        trail.pass(
          'session',
          `Active since ${toIso(session.created_at)}, last used ${toIso(session.last_used_at)}`,
        );
      }
    } else {
      trail.skip('session', 'The token names no session (a machine token)');
    }
    if (!subject) {
      trail.fail('subject', 'The token names no subject');
      return { code: 'token_malformed' };
    }
    const user = await findUserById(db, subject);
    if (!user) {
      const tombstone = await findUserTombstone(db, subject);
      if (tombstone) {
        trail.fail('subject', `User ${subject} was deleted at ${toIso(tombstone.deleted_at)}`);
        return { code: 'subject_not_found', hint: 'The user was deleted; create a new account.' };
      }
      if (!sessionId) {
        trail.skip('subject', `Subject ${subject} is a machine client`);
        return undefined;
      }
      trail.fail(
        'subject',
        `No user ${subject} in this database, and no record of a deletion: the database was replaced or its ids changed`,
      );
      return { code: 'subject_not_found' };
    }
    trail.pass('subject', `User ${user.email} (${user.id})`);
    if (user.disabled_at !== null) {
      trail.fail('account', `Disabled at ${toIso(user.disabled_at)}`);
      return { code: 'user_disabled' };
    }
    trail.pass('account', 'Enabled');
    return undefined;
  }

  function checkTimes(trail: CheckTrail, payload: JWTPayload): Verdict | undefined {
    const now = clock.now();
    const serverTime = `server time ${toIso(now)}, tolerance ${clockSkewSeconds}s`;
    if (typeof payload.iat === 'number') {
      const ahead = payload.iat * 1000 - now;
      if (ahead > clockSkewSeconds * 1000) {
        trail.fail(
          'iat',
          `Issued ${humanDuration(ahead)} in the future (${serverTime}): the issuing clock is ahead by about that much`,
        );
        return { code: 'token_not_yet_valid' };
      }
      trail.pass(
        'iat',
        `Issued at ${toIso(payload.iat * 1000)} (${humanDuration(now - payload.iat * 1000)} ago; clock difference within tolerance)`,
      );
    }
    if (typeof payload.nbf === 'number' && payload.nbf * 1000 - now > clockSkewSeconds * 1000) {
      trail.fail(
        'nbf',
        `Not valid before ${toIso(payload.nbf * 1000)}, ${humanDuration(payload.nbf * 1000 - now)} from now (${serverTime})`,
      );
      return { code: 'token_not_yet_valid' };
    }
    if (typeof payload.exp !== 'number') {
      trail.fail('exp', 'The token has no expiry');
      return { code: 'token_malformed' };
    }
    const left = payload.exp * 1000 - now;
    if (left + clockSkewSeconds * 1000 <= 0) {
      trail.fail(
        'exp',
        `Expired at ${toIso(payload.exp * 1000)}, ${humanDuration(left)} ago (${serverTime})`,
      );
      return { code: 'token_expired' };
    }
    trail.pass('exp', `Expires at ${toIso(payload.exp * 1000)}, in ${humanDuration(left)} (${serverTime})`);
    return undefined;
  }

  async function diagnoseJwt(
    token: string,
    trail: CheckTrail,
  ): Promise<{ kind: TokenKind; verdict: Verdict }> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let payload: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      payload = decodeJwt(token);
    } catch {
      trail.fail(
        'structure',
        'Three dot-separated parts, but the header or payload is not base64url-encoded JSON',
      );
      return { kind: 'unknown', verdict: { code: 'token_malformed' } };
    }
    trail.pass('structure', 'A JWT: header and payload decode');
    const foreignIssuer = typeof payload.iss === 'string' && payload.iss !== issuer;
    const alg = String(header.alg);
    if (!(ALLOWED_ALGS as readonly string[]).includes(alg)) {
      trail.fail('alg', `"${alg.slice(0, 20)}" is not one of ${ALLOWED_ALGS.join(', ')}`);
      return { kind: foreignIssuer ? 'jwt' : 'access_token', verdict: { code: 'token_alg_not_allowed' } };
    }
    trail.pass('alg', `${alg} is allowed`);
    const kid = typeof header.kid === 'string' ? header.kid.slice(0, 128) : undefined;
    const known = kid ? keyring.describe(kid) : undefined;
    const key = kid ? keyring.verificationKey(kid) : undefined;
    if (!key) {
      if (known?.retiredAt) {
        trail.fail(
          'kid',
          `Key ${kid} was retired at ${toIso(known.retiredAt)} and stopped verifying at ${toIso(known.verifyUntil ?? known.retiredAt)}`,
        );
        return {
          kind: 'access_token',
          verdict: {
            code: 'token_unknown_key',
            hint: 'The signing key was retired long ago; sign in again.',
          },
        };
      }
      const hint = foreignIssuer
        ? `Issued by "${payload.iss}", not by this server ("${issuer}"): a token from another installation or environment. Sign in against this server.`
        : `This installation never held key ${kid ?? '(none)'}: the token comes from another installation with the same issuer URL, or the master key and keys were replaced.`;
      trail.fail('kid', `Key ${kid ?? '(no kid)'} is not in this keyring (active, next or retired)`);
      return { kind: foreignIssuer ? 'jwt' : 'access_token', verdict: { code: 'token_unknown_key', hint } };
    }
    trail.pass(
      'kid',
      `Key ${kid} is ${known?.state ?? 'held'}${known?.retiredAt ? ` (retired ${toIso(known.retiredAt)})` : ''}`,
    );
    try {
      await compactVerify(token, key.key, { algorithms: [key.alg] });
      trail.pass('signature', `Verified with key ${kid}`);
    } catch {
      trail.fail('signature', `Does not verify with key ${kid}: the token was altered`);
      return { kind: 'access_token', verdict: { code: 'token_signature_invalid' } };
    }
    if (foreignIssuer) {
      trail.fail('iss', `The token says "${payload.iss}"; this server is "${issuer}" (another environment?)`);
      return { kind: 'jwt', verdict: { code: 'token_issuer_mismatch' } };
    }
    trail.pass('iss', `"${issuer}"`);
    const tokenAudience = ([] as unknown[]).concat(payload.aud ?? []);
    if (!tokenAudience.some((aud) => audience.includes(String(aud)))) {
      trail.fail(
        'aud',
        `The token is for ${JSON.stringify(payload.aud)}; this server accepts ${JSON.stringify(audience)}`,
      );
      return { kind: 'access_token', verdict: { code: 'token_audience_mismatch' } };
    }
    trail.pass('aud', JSON.stringify(payload.aud));
    const timeVerdict = checkTimes(trail, payload);
    if (timeVerdict) return { kind: 'access_token', verdict: timeVerdict };
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    return {
      kind: 'access_token',
      verdict: (await checkSessionAndSubject(trail, sid, sub)) ?? { code: 'ok' },
    };
  }

  async function diagnoseRefreshToken(token: string, trail: CheckTrail): Promise<Verdict> {
    if (!isRefreshTokenShaped(token)) {
      trail.fail(
        'structure',
        `Starts with ${REFRESH_TOKEN_PREFIX} but is not 47 characters of base64url (truncated?)`,
      );
      return { code: 'refresh_token_not_found' };
    }
    trail.pass('structure', 'A Gatehouse refresh token');
    const row = await findRefreshTokenByHash(db, hashRefreshToken(token));
    if (!row) {
      trail.fail(
        'lookup',
        'Never issued by this database (another installation, or the database was replaced)',
      );
      return { code: 'refresh_token_not_found' };
    }
    trail.pass('lookup', `Issued ${toIso(row.created_at)} for session ${row.session_id}`);
    const now = clock.now();
    if (row.expires_at <= now) {
      trail.fail('exp', `Expired at ${toIso(row.expires_at)}, ${humanDuration(now - row.expires_at)} ago`);
      return { code: 'refresh_token_expired' };
    }
    trail.pass('exp', `Expires at ${toIso(row.expires_at)}`);
    const sessionVerdict = await checkSessionAndSubject(
      trail,
      row.session_id,
      (await findSession(db, row.session_id))?.user_id,
    );
    if (row.used_at === null) {
      trail.pass('rotation', 'Not used yet: the current token of its family');
    } else {
      const successor = row.successor_id ? await findRefreshTokenById(db, row.successor_id) : undefined;
      const since = now - row.used_at;
      const within = since <= options.refreshGraceSeconds * 1000;
      const detail = `Rotated at ${toIso(row.used_at)} (${humanDuration(since)} ago) into token ${successor?.id ?? '?'}`;
      if (within) {
        trail.pass(
          'rotation',
          `${detail}; inside the ${options.refreshGraceSeconds}s grace interval, so a concurrent refresh (another tab) gets the same successor`,
        );
      } else {
        trail.fail(
          'rotation',
          `${detail}; presenting it again after the grace interval is a reuse, which revokes session ${row.session_id}`,
        );
        return sessionVerdict ?? { code: 'refresh_token_reused' };
      }
    }
    return sessionVerdict ?? { code: 'ok' };
  }

  return {
    async diagnose(raw: string): Promise<Diagnosis> {
      const { value, notes } = normalizeCredential(raw);
      const trail = new CheckTrail();
      if (notes.length) trail.pass('input', `Stripped ${notes.join(', ')} around the token`);
      let kind: TokenKind = 'unknown';
      let verdict: Verdict;
      let checks: Check[];
      if (value.startsWith(API_KEY_PREFIX)) {
        const explained = await options.apiKeys.explain(value);
        kind = 'api_key';
        verdict = explained.verdict.valid
          ? { code: 'ok' }
          : { code: explained.verdict.code, hint: explained.verdict.hint };
        checks = [...trail.checks, ...explained.checks.filter((check) => check.name !== 'input')];
      } else if (value.startsWith(REFRESH_TOKEN_PREFIX)) {
        kind = 'refresh_token';
        verdict = await diagnoseRefreshToken(value, trail);
        checks = trail.checks;
      } else if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value) && value.length <= 16_384) {
        const jwt = await diagnoseJwt(value, trail);
        kind = jwt.kind;
        verdict = jwt.verdict;
        checks = trail.checks;
      } else {
        trail.fail(
          'structure',
          'Not a JWT (three base64url parts), not a refresh token (grt_…), not an API key (gk_…)',
        );
        verdict = {
          code: 'token_malformed',
          hint: 'Paste the whole credential: a JWT access token, a grt_ refresh token or a gk_ API key.',
        };
        checks = trail.checks;
      }
      const code = verdict.code;
      return {
        kind,
        valid: code === 'ok',
        code,
        checks,
        hint:
          verdict.hint ?? (code === 'ok' ? 'Nothing is wrong with this credential.' : reasonCodes[code].hint),
        preview: kind === 'api_key' ? previewApiKey(value) : previewSecret(value, 12, 6),
        stripped: notes,
        server_time: toIso(clock.now()),
      };
    },
  };
}

export type TokenDoctor = ReturnType<typeof createTokenDoctor>;
