import type { CheckTrail } from '../checks/check-trail.js';
import { fromNow, humanDuration } from '../checks/human-duration.js';
import { toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import {
  claimRefreshRotation,
  findRefreshTokenByHash,
  type RefreshTokenRow,
} from '../store/refresh-tokens-store.js';
import { revokeSession } from '../store/sessions-store.js';
import {
  hashRefreshToken,
  isRefreshTokenShaped,
  successorRefreshToken,
} from '../tokens/refresh-token-format.js';
import { parseRoles } from '../users/user-view.js';
import type { AuthenticateDeps } from './authenticate.js';
import { decideSession, type LiveSession, loadSession } from './session-state.js';
import type { TokenSet } from './session-types.js';
import { issueTokens, refreshRow, type StartDeps } from './start.js';

export interface RefreshDeps extends AuthenticateDeps, StartDeps {
  refreshTokenKey: Uint8Array;
  refreshGraceSeconds: number;
}

/**
 * Where a refresh token stands in its family: the current one; rotated a moment ago (inside the grace, a
 * concurrent refresh — another tab — gets the same successor); or rotated before that, which is a reuse.
 */
export type RotationState = 'current' | 'grace' | 'reused';

export interface RefreshJudgement extends LiveSession {
  row: RefreshTokenRow;
  state: RotationState;
}

function rotationState(row: RefreshTokenRow, now: number, graceSeconds: number): RotationState {
  if (row.used_at === null) return 'current';
  return now - row.used_at <= graceSeconds * 1000 ? 'grace' : 'reused';
}

function explainRotation(
  trail: CheckTrail,
  row: RefreshTokenRow,
  state: RotationState,
  graceSeconds: number,
  now: number,
) {
  if (state === 'current') return trail.pass('rotation', 'Not used yet: the current token of its family');
  const rotated = `Rotated at ${toIso(row.used_at ?? now)} (${fromNow((row.used_at ?? now) - now)}) into token ${row.successor_id ?? '?'}`;
  if (state === 'grace') {
    return trail.pass(
      'rotation',
      `${rotated}; inside the ${graceSeconds}s grace interval, so a concurrent refresh gets the same successor`,
    );
  }
  trail.fail(
    'rotation',
    `${rotated}; presented again after the ${graceSeconds}s grace interval: a reuse, which revokes session ${row.session_id}`,
  );
}

/**
 * The refresh-token decision, for the refresh grant, introspection and the doctor alike: form, lookup, the
 * session rule, expiry, then where the token stands in its family. A reuse is a state here, not a refusal:
 * what it costs (the grant revokes the session) is each caller's to do.
 */
export async function judgeRefreshToken(
  deps: RefreshDeps,
  token: string,
  trail?: CheckTrail,
): Promise<RefreshJudgement> {
  const notFound = (check: string, detail: string): never => {
    trail?.fail(check, detail);
    throw new GatehouseError('refresh_token_not_found', { detail });
  };
  if (!isRefreshTokenShaped(token))
    notFound(
      'structure',
      'Not a Gatehouse refresh token: grt_ and 43 base64url characters (truncated or altered?)',
    );
  trail?.pass('structure', 'A Gatehouse refresh token');
  const row = await findRefreshTokenByHash(deps.db, hashRefreshToken(token));
  if (!row)
    return notFound(
      'lookup',
      'Never issued by this database: another installation, or the database was replaced',
    );
  trail?.pass('lookup', `Issued ${toIso(row.created_at)} for session ${row.session_id}`);
  const found = await loadSession(deps, row.session_id, { fresh: true, trail });
  const now = deps.clock.now();
  const live = decideSession(deps, found, now, trail);
  if (row.expires_at <= now) {
    const detail = `Expired at ${toIso(row.expires_at)}, ${humanDuration(now - row.expires_at)} ago`;
    trail?.fail('exp', detail);
    throw new GatehouseError('refresh_token_expired', { detail });
  }
  trail?.pass('exp', `Expires at ${toIso(row.expires_at)}, ${fromNow(row.expires_at - now)}`);
  const state = rotationState(row, now, deps.refreshGraceSeconds);
  if (trail) explainRotation(trail, row, state, deps.refreshGraceSeconds, now);
  return { ...live, row, state };
}

export function reuseRefusal(row: RefreshTokenRow, now: number): GatehouseError {
  return new GatehouseError('refresh_token_reused', {
    detail: `This refresh token was rotated at ${toIso(row.used_at ?? now)} and presented again at ${toIso(now)}, after the grace interval; session ${row.session_id} is revoked`,
  });
}

/** What the refresh grant answers a token, without doing what it does: a reuse is refused, and nothing is revoked. */
export async function judgeRefreshGrant(
  deps: RefreshDeps,
  token: string,
  trail?: CheckTrail,
): Promise<RefreshJudgement> {
  const judgement = await judgeRefreshToken(deps, token, trail);
  if (judgement.state === 'reused') throw reuseRefusal(judgement.row, deps.clock.now());
  return judgement;
}

/** The refresh grant: rotates the current token, hands a concurrent refresh the same successor, and revokes a reused family. */
export async function refresh(deps: RefreshDeps, token: string): Promise<TokenSet> {
  const judgement = await judgeRefreshToken(deps, token);
  const { session, user } = judgement;
  const now = deps.clock.now();
  const subject = { id: user.id, roles: parseRoles(user.roles) };
  const successor = successorRefreshToken(deps.refreshTokenKey, token);
  let { row, state } = judgement;
  if (state === 'current') {
    const claim = await claimRefreshRotation(
      deps.db,
      row.id,
      now,
      refreshRow(deps, successor, session.id, now, session.expires_at),
    );
    if (claim.claimed) return issueTokens(deps, subject, session, successor);
    // Another refresh of this token won the race: judged again as it now stands.
    row = claim.current;
    state = rotationState(row, now, deps.refreshGraceSeconds);
  }
  if (state === 'grace') return issueTokens(deps, subject, session, successor);
  await revokeSession(deps.db, session.id, 'refresh_token_reused', now);
  deps.views.forgetSession(session.id);
  throw reuseRefusal(row, now);
}
