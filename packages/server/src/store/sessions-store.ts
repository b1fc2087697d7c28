import type { CompiledQuery, InferResult, Kysely } from 'kysely';
import type { Database, SessionTable } from './schema.js';
import type { UserRow } from './users-store.js';

export type SessionRow = SessionTable;

export async function insertSession(db: Kysely<Database>, row: SessionRow): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

export async function findSession(db: Kysely<Database>, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

function sessionAndUserQuery(db: Kysely<Database>, sessionId: string) {
  return db
    .selectFrom('sessions')
    .leftJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id as id',
      'sessions.user_id as user_id',
      'sessions.created_at as created_at',
      'sessions.last_used_at as last_used_at',
      'sessions.expires_at as expires_at',
      'sessions.ip as ip',
      'sessions.user_agent as user_agent',
      'sessions.amr as amr',
      'sessions.revoked_at as revoked_at',
      'sessions.revoked_reason as revoked_reason',
      'users.id as u_id',
      'users.email as u_email',
      'users.name as u_name',
      'users.password_hash as u_password_hash',
      'users.roles as u_roles',
      'users.disabled_at as u_disabled_at',
      'users.created_at as u_created_at',
      'users.updated_at as u_updated_at',
      'users.mfa_enabled_at as u_mfa_enabled_at',
    ])
    .where('sessions.id', '=', sessionId);
}

type SessionAndUserRow = InferResult<ReturnType<typeof sessionAndUserQuery>>[number];

/** Every authenticated request runs this query: it is compiled once per database and only re-bound. */
const compiledSessionAndUser = new WeakMap<Kysely<Database>, CompiledQuery<SessionAndUserRow>>();

/** The session and its user in one read: what every request authenticated by an access token needs. */
export async function findSessionAndUser(
  db: Kysely<Database>,
  sessionId: string,
): Promise<{ session: SessionRow; user: UserRow | undefined } | undefined> {
  let compiled = compiledSessionAndUser.get(db);
  if (!compiled) {
    compiled = sessionAndUserQuery(db, '').compile();
    compiledSessionAndUser.set(db, compiled);
  }
  const row = (await db.executeQuery<SessionAndUserRow>({ ...compiled, parameters: [sessionId] })).rows[0];
  if (!row) return undefined;
  const {
    u_id,
    u_email,
    u_name,
    u_password_hash,
    u_roles,
    u_disabled_at,
    u_created_at,
    u_updated_at,
    u_mfa_enabled_at,
    ...session
  } = row;
  const user =
    u_id === null || u_email === null || u_roles === null || u_created_at === null || u_updated_at === null
      ? undefined
      : {
          id: u_id,
          email: u_email,
          name: u_name,
          password_hash: u_password_hash,
          roles: u_roles,
          disabled_at: u_disabled_at,
          created_at: u_created_at,
          updated_at: u_updated_at,
          mfa_enabled_at: u_mfa_enabled_at,
        };
  return { session, user };
}

export async function listActiveSessions(
  db: Kysely<Database>,
  userId: string,
  now: number,
): Promise<SessionRow[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .execute();
}

export async function revokeSession(
  db: Kysely<Database>,
  id: string,
  reason: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function revokeUserSessions(
  db: Kysely<Database>,
  userId: string,
  reason: string,
  now: number,
  exceptSessionId?: string,
): Promise<number> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (exceptSessionId) query = query.where('id', '!=', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function touchSession(db: Kysely<Database>, id: string, now: number): Promise<void> {
  await db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', id).execute();
}

/** Binds a browser session cookie (its hash) to a session. */
export async function setSessionCookie(
  db: Kysely<Database>,
  sessionId: string,
  cookieHash: string,
): Promise<void> {
  await db.updateTable('sessions').set({ cookie_hash: cookieHash }).where('id', '=', sessionId).execute();
}

export async function findSessionIdByCookie(
  db: Kysely<Database>,
  cookieHash: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select('id')
    .where('cookie_hash', '=', cookieHash)
    .executeTakeFirst();
  return row?.id;
}
