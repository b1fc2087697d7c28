import { type Code, reasonCodes } from '@gatehouse/codes';
import type { ApiKeys } from '../apikeys/api-keys.js';
import { API_KEY_PREFIX, type InputNote, normalizeCredential, previewApiKey } from '../apikeys/key-format.js';
import { type Check, CheckTrail } from '../checks/check-trail.js';
import { type Clock, toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Mfa } from '../mfa/mfa.js';
import { MFA_TOKEN_PREFIX } from '../mfa/mfa-token.js';
import { previewSecret } from '../secrets/digest.js';
import { SESSION_COOKIE_PREFIX } from '../sessions/authenticate.js';
import type { Sessions } from '../sessions/sessions.js';
import { unverifiedClaims } from '../tokens/access-tokens.js';
import { REFRESH_TOKEN_PREFIX } from '../tokens/refresh-token-format.js';
import type { Users } from '../users/users.js';

export type TokenKind =
  | 'access_token'
  | 'refresh_token'
  | 'api_key'
  | 'session_cookie'
  | 'mfa_token'
  | 'jwt'
  | 'unknown';

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

export interface TokenDoctorDeps {
  sessions: Pick<Sessions, 'judgeAccessToken' | 'judgeRefreshToken' | 'judgeCookie'>;
  apiKeys: Pick<ApiKeys, 'explain'>;
  mfa: Pick<Mfa, 'judgeToken'>;
  users: Pick<Users, 'wasDeleted'>;
  clock: Clock;
  issuer: string;
}

type Verdict = { code: Code | 'ok'; hint?: string };
type CredentialKind = Exclude<TokenKind, 'jwt'>;

/** The kinds an operator can name when the text alone does not say where the credential is used. */
export const CREDENTIAL_KINDS = [
  'access_token',
  'refresh_token',
  'api_key',
  'session_cookie',
  'mfa_token',
] as const;
export type NamedKind = (typeof CREDENTIAL_KINDS)[number];

/** The family a credential belongs to, read from its text once what pasting adds is stripped. */
function kindOf(value: string): CredentialKind {
  if (value.startsWith(API_KEY_PREFIX)) return 'api_key';
  if (value.startsWith(REFRESH_TOKEN_PREFIX)) return 'refresh_token';
  if (value.startsWith(SESSION_COOKIE_PREFIX)) return 'session_cookie';
  if (value.startsWith(MFA_TOKEN_PREFIX)) return 'mfa_token';
  return value.includes('.') ? 'access_token' : 'unknown';
}

/**
 * `gatehouse doctor` and `POST /v1/admin/diagnose`. The verdict is never the doctor's own: each credential
 * runs through the decision procedure its endpoint runs (the access-token, refresh-token, cookie and API-key
 * judges), with a trail that records every check. The doctor only adds explanation around it: what pasting
 * added, what is inside a wrapped token, whether a missing user was deleted.
 */
export function createTokenDoctor(deps: TokenDoctorDeps) {
  const { sessions, clock, issuer } = deps;

  /** The endpoint's own decision: an accepted credential is `ok`, a refusal its reason and hint. */
  async function judged(judge: () => Promise<unknown>): Promise<Verdict> {
    try {
      await judge();
      return { code: 'ok' };
    } catch (error) {
      if (error instanceof GatehouseError) return { code: error.code, hint: error.hint };
      throw error;
    }
  }

  function judge(kind: CredentialKind, credential: string, trail: CheckTrail): Promise<Verdict> {
    switch (kind) {
      case 'access_token':
        return judged(() => sessions.judgeAccessToken(credential, trail));
      case 'refresh_token':
        return judged(() => sessions.judgeRefreshToken(credential, trail));
      case 'session_cookie':
        return judged(() => sessions.judgeCookie(credential, trail));
      case 'mfa_token':
        return judged(() => deps.mfa.judgeToken(credential, trail));
      default: {
        trail.fail(
          'structure',
          'Not a JWT (three base64url parts), not a refresh token (grt_…), not an API key (gk_…), not a session cookie (gcs_…), not an mfa_token (gmt_…)',
        );
        return Promise.resolve({
          code: 'token_malformed',
          hint: 'Paste the whole credential: a JWT access token, a grt_ refresh token, a gk_ API key or a gcs_ session cookie.',
        });
      }
    }
  }

  /**
   * Endpoints take a token as sent, trimmed of surrounding whitespace (the header or form field): quotes or a
   * `Bearer` inside are part of what they judge. The doctor says what the token inside would get.
   */
  async function explainWrapping(
    trail: CheckTrail,
    kind: CredentialKind,
    unwrapped: string,
    notes: InputNote[],
  ): Promise<void> {
    const wrapping = notes.filter((note) => note !== 'whitespace');
    if (!wrapping.length) {
      if (notes.length) trail.pass('input', 'Surrounding whitespace stripped, as the server strips it');
      return;
    }
    const inside = await judge(kind, unwrapped, new CheckTrail());
    trail.skip(
      'input',
      `The text carries ${wrapping.join(' and ')} around the token; the server judges the text as sent. Without them the token would be ${inside.code === 'ok' ? 'valid' : inside.code}: send the token alone.`,
    );
  }

  /** A subject that is gone: a tombstone tells a deletion from a replaced database. */
  async function explainMissingSubject(trail: CheckTrail, token: string): Promise<Verdict | undefined> {
    const { sub } = unverifiedClaims(token);
    const deleted = typeof sub === 'string' ? await deps.users.wasDeleted(sub) : undefined;
    if (!deleted) return undefined;
    trail.fail('subject', `User ${sub} was deleted at ${toIso(deleted.deletedAt)}`);
    return { code: 'subject_not_found', hint: 'The user was deleted; create a new account.' };
  }

  /** A JWT issued elsewhere (another issuer in `iss`) is named as such. */
  function displayedKind(kind: CredentialKind, credential: string): TokenKind {
    if (kind !== 'access_token') return kind;
    const { iss } = unverifiedClaims(credential);
    return typeof iss === 'string' && iss !== issuer ? 'jwt' : kind;
  }

  async function diagnoseToken(raw: string, kind: CredentialKind, unwrapped: string, notes: InputNote[]) {
    const trail = new CheckTrail();
    const presented = raw.trim();
    await explainWrapping(trail, kind, unwrapped, notes);
    let verdict = await judge(kind, presented, trail);
    if (verdict.code === 'subject_not_found' && kind === 'access_token') {
      verdict = (await explainMissingSubject(trail, presented)) ?? verdict;
    }
    return { verdict, checks: trail.checks, kind: displayedKind(kind, unwrapped) };
  }

  async function diagnoseApiKey(raw: string) {
    const explained = await deps.apiKeys.explain(raw);
    const verdict: Verdict = explained.verdict.valid
      ? { code: 'ok' }
      : { code: explained.verdict.code, hint: explained.verdict.hint };
    return { verdict, checks: explained.checks, kind: 'api_key' as const };
  }

  return {
    /**
     * `kind` names where the credential is used, for text whose form does not say (a key without its
     * prefix, a mangled token): it is then judged as that endpoint judges it. Without it, the form decides.
     */
    async diagnose(raw: string, named?: NamedKind): Promise<Diagnosis> {
      const { value, notes } = normalizeCredential(raw);
      if (!value) {
        throw new GatehouseError('validation_failed', {
          detail: 'token: there is nothing to diagnose (empty, or only whitespace and quotes)',
        });
      }
      const kind = named ?? kindOf(value);
      const {
        verdict,
        checks,
        kind: shownKind,
      } = kind === 'api_key' ? await diagnoseApiKey(raw) : await diagnoseToken(raw, kind, value, notes);
      const { code } = verdict;
      return {
        kind: shownKind,
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
