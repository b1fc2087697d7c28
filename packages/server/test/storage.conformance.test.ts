import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { GatehouseError } from '../src/errors/gatehouse-error.js';
import { findApiKeyById, insertApiKey, recordApiKeyUse } from '../src/store/api-keys-store.js';
import { insertClient } from '../src/store/clients-store.js';
import { openStore, type Store } from '../src/store/database.js';
import { claimInstallation } from '../src/store/installation-store.js';
import { tryTakeLease } from '../src/store/leases-store.js';
import {
  incrementLoginFailures,
  raiseLoginThrottle,
  readLoginThrottle,
} from '../src/store/login-throttles-store.js';
import { savePendingTotp } from '../src/store/mfa-store.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { migrations } from '../src/store/migrations/index.js';
import { countRequest } from '../src/store/rate-limits-store.js';
import {
  claimRefreshRotation,
  insertRefreshToken,
  type RefreshTokenRow,
} from '../src/store/refresh-tokens-store.js';
import { insertSession } from '../src/store/sessions-store.js';
import {
  findUserByEmail,
  findUserById,
  importUsers,
  insertUser,
  type UserRow,
} from '../src/store/users-store.js';
import { createTestDatabase, type TestDatabase, testDialect } from './support/test-database.js';

const run = promisify(execFile);
const migrateAt = fileURLToPath(new URL('./support/migrate-at.mjs', import.meta.url));

const openTestStore = (database: TestDatabase): Store =>
  openStore(
    loadConfig({ env: { GATEHOUSE_DATABASE_URL: database.url }, cwd: database.dataDir }).database,
    () => {},
  );

const user = (email: string, fields: Partial<UserRow> = {}): UserRow => ({
  id: uuidv7(),
  email,
  name: null,
  password_hash: null,
  roles: '[]',
  disabled_at: null,
  created_at: 1_700_000_000_000,
  updated_at: 1_700_000_000_000,
  ...fields,
});

/**
 * What every store relies on from its database, checked on the dialect this run uses (`.ci/run` runs it on
 * SQLite, PostgreSQL, PostgreSQL through PgBouncer and MariaDB): exact comparisons whatever the server's
 * collation, epoch milliseconds as numbers, atomic counters and claims under concurrency, and one migration
 * run however many start at once.
 */
describe(`storage conformance on ${testDialect}`, () => {
  let database: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = openTestStore(database);
    await migrateToLatest(store.db, store.dialect);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('migrates once when three processes migrate an empty database at the same instant', async () => {
    const fresh = await createTestDatabase();
    try {
      const startAt = String(Date.now() + 1500);
      const runs = await Promise.all(
        [0, 1, 2].map(() => run(process.execPath, [migrateAt, fresh.url, startAt], { cwd: fresh.dataDir })),
      );
      const applied = runs.flatMap(({ stdout }) => JSON.parse(stdout) as string[]);
      expect(applied).toEqual(Object.keys(migrations));
    } finally {
      await fresh.drop();
    }
  });

  it('compares text exactly: case, accents and sharp s make different emails', async () => {
    const spellings = [
      'josé@example.com',
      'jose@example.com',
      'JOSE@example.com',
      'strasse@example.com',
      'straße@example.com',
    ];
    for (const email of spellings) expect(await insertUser(store.db, user(email)), email).toBe(true);
    for (const email of spellings) expect((await findUserByEmail(store.db, email))?.email).toBe(email);
    expect(await insertUser(store.db, user('jose@example.com'))).toBe(false);
  });

  it('round-trips four-byte characters and epoch milliseconds as numbers', async () => {
    const farFuture = 2 ** 52 + 1;
    const row = user('emoji@example.com', { name: 'Zoë 🦊𝕏', created_at: farFuture, updated_at: 0 });
    await insertUser(store.db, row);
    const read = await findUserById(store.db, row.id);
    expect(read?.name).toBe('Zoë 🦊𝕏');
    expect(read?.created_at).toBe(farFuture);
    expect(typeof read?.updated_at).toBe('number');
  });

  it('inserts a row once: a second insert with the same key changes nothing', async () => {
    const first = { id: uuidv7(), master_key_fingerprint: 'mk_first', created_at: 1 };
    const second = { id: uuidv7(), master_key_fingerprint: 'mk_second', created_at: 2 };
    const [a, b] = await Promise.all([
      claimInstallation(store.db, first),
      claimInstallation(store.db, second),
    ]);
    expect(a).toEqual(b);
    expect([first.id, second.id]).toContain(a.id);
  });

  it('replaces a user by id on import and keeps the id', async () => {
    const original = user('imported@example.com', { name: 'before' });
    await insertUser(store.db, original);
    const renamed = { ...original, name: 'after', updated_at: 5 };
    expect(
      await importUsers(store.db, [{ id: original.id, row: renamed, plannedUpdatedAt: original.updated_at }]),
    ).toEqual({});
    expect(await findUserById(store.db, original.id)).toMatchObject({ name: 'after', updated_at: 5 });
    const thief = user('imported@example.com');
    expect(
      (await importUsers(store.db, [{ id: thief.id, row: thief, plannedUpdatedAt: null }])).conflict,
    ).toContain(original.id);
  });

  it('leaves a user changed since the import was planned as it is, and writes nothing of that import', async () => {
    const changed = user('changed-meanwhile@example.com', { updated_at: 20 });
    const newcomer = user('newcomer@example.com');
    await insertUser(store.db, changed);
    const result = await importUsers(store.db, [
      { id: newcomer.id, row: newcomer, plannedUpdatedAt: null },
      { id: changed.id, row: { ...changed, name: 'stale', updated_at: 10 }, plannedUpdatedAt: 10 },
    ]);
    expect(result.conflict).toContain(`${changed.id} changed while importing`);
    expect(await findUserById(store.db, changed.id)).toMatchObject({ name: null, updated_at: 20 });
    expect(await findUserById(store.db, newcomer.id)).toBeUndefined();
  });

  it('keeps a confirmed authenticator: a pending secret replaces a pending one only', async () => {
    const owner = user('totp@example.com');
    await insertUser(store.db, owner);
    const pending = (secret: string) => ({
      user_id: owner.id,
      secret_sealed: secret,
      created_at: 1,
      confirmed_at: null,
      last_step: 0,
    });
    expect(await savePendingTotp(store.db, pending('first'))).toBe(true);
    expect(await savePendingTotp(store.db, pending('second'))).toBe(true);
    await store.db.updateTable('mfa_totp').set({ confirmed_at: 2 }).where('user_id', '=', owner.id).execute();
    expect(await savePendingTotp(store.db, pending('third'))).toBe(false);
    const row = await store.db
      .selectFrom('mfa_totp')
      .selectAll()
      .where('user_id', '=', owner.id)
      .executeTakeFirst();
    expect(row?.secret_sealed).toBe('second');
  });

  it('counts fifty concurrent requests in one window as 1…50, each once, and starts a new window after it', async () => {
    const counts = await Promise.all(
      Array.from({ length: 50 }, () => countRequest(store.db, 'conformance:ip', 1_000_000, 60_000)),
    );
    expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(new Set(counts.map((c) => c.windowStart))).toEqual(new Set([1_000_000]));
    expect(await countRequest(store.db, 'conformance:ip', 1_060_001, 60_000)).toEqual({
      count: 1,
      windowStart: 1_060_001,
    });
  });

  it('counts twenty concurrent login failures as 1…20 and sets the lock the count calls for', async () => {
    const failures = await Promise.all(
      Array.from({ length: 20 }, () =>
        incrementLoginFailures(store.db, 'conformance-account', 5_000, (n) => (n >= 20 ? 9_000 : null)),
      ),
    );
    expect(failures.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const row = await store.db
      .selectFrom('login_throttles')
      .selectAll()
      .where('account', '=', 'conformance-account')
      .executeTakeFirst();
    expect(row).toMatchObject({ failures: 20, locked_until: 9_000 });
  });

  it('raises an imported login throttle to at least the carried count and lock, never lowering either', async () => {
    const account = 'conformance-imported-account';
    await raiseLoginThrottle(store.db, { account, failures: 3, last_failure_at: 100, locked_until: 7_000 });
    await raiseLoginThrottle(store.db, { account, failures: 2, last_failure_at: 50, locked_until: null });
    expect(await readLoginThrottle(store.db, account)).toMatchObject({ failures: 3, locked_until: 7_000 });
    await raiseLoginThrottle(store.db, { account, failures: 6, last_failure_at: 200, locked_until: 9_000 });
    expect(await readLoginThrottle(store.db, account)).toMatchObject({ failures: 6, locked_until: 9_000 });
  });

  it('gives a lease to exactly one of ten racing holders, and to another only once it has run out', async () => {
    const won = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        tryTakeLease(store.db, { name: 'conformance', holder: `holder-${i}`, now: 100, until: 200 }),
      ),
    );
    expect(won.filter(Boolean)).toHaveLength(1);
    const winner = `holder-${won.indexOf(true)}`;
    expect(await tryTakeLease(store.db, { name: 'conformance', holder: 'late', now: 150, until: 250 })).toBe(
      false,
    );
    expect(await tryTakeLease(store.db, { name: 'conformance', holder: winner, now: 150, until: 300 })).toBe(
      true,
    );
    expect(await tryTakeLease(store.db, { name: 'conformance', holder: 'late', now: 301, until: 400 })).toBe(
      true,
    );
  });

  it('writes last-use times for more keys than one statement holds, and never moves one back', async () => {
    const clientId = uuidv7();
    await insertClient(store.db, {
      id: clientId,
      name: 'last use',
      email: null,
      status: 'active',
      status_changed_at: null,
      created_at: 1,
      updated_at: 1,
    });
    const ids = Array.from({ length: 250 }, () => uuidv7());
    const key = (id: string, index: number) => ({
      id,
      client_id: clientId,
      name: `k${index}`,
      key_hash: index.toString(16).padStart(64, 'x'),
      preview: 'gk_…',
      scopes: '["agent"]',
      metadata: null,
      rate_limit: null,
      created_at: 1,
      expires_at: null,
      // Every third key was already used later than this batch says.
      last_used_at: index % 3 === 0 ? 9_000 : null,
      revoked_at: null,
      revoked_reason: null,
      rotated_at: null,
      successor_id: null,
      successor_preview: null,
    });
    for (const [index, id] of ids.entries()) await insertApiKey(store.db, key(id, index));
    await recordApiKeyUse(store.db, new Map(ids.map((id, index) => [id, 5_000 + index])));
    const written = await Promise.all(
      ids.map(async (id) => (await findApiKeyById(store.db, id))?.last_used_at),
    );
    expect(written).toEqual(ids.map((_, index) => (index % 3 === 0 ? 9_000 : 5_000 + index)));
  });

  it('lets one of twenty concurrent rotations of a refresh token claim it; the others read its successor', async () => {
    const owner = user('refresh@example.com');
    await insertUser(store.db, owner);
    const sessionId = uuidv7();
    await insertSession(store.db, {
      id: sessionId,
      user_id: owner.id,
      created_at: 1,
      last_used_at: 1,
      expires_at: 10_000,
      ip: null,
      user_agent: null,
      amr: '["pwd"]',
      revoked_at: null,
      revoked_reason: null,
    });
    const token = (hash: string): RefreshTokenRow => ({
      id: uuidv7(),
      session_id: sessionId,
      token_hash: hash,
      created_at: 1,
      expires_at: 10_000,
      used_at: null,
      successor_id: null,
    });
    const parent = token('a'.repeat(64));
    await insertRefreshToken(store.db, parent);
    const successors = Array.from({ length: 20 }, (_, i) => token(i.toString(16).padStart(64, 'b')));
    const claims = await Promise.all(
      successors.map((next) => claimRefreshRotation(store.db, parent.id, 2, next)),
    );
    const winners = claims.flatMap((claim, i) => (claim.claimed ? [successors[i]!.id] : []));
    expect(winners).toHaveLength(1);
    for (const claim of claims) if (!claim.claimed) expect(claim.current.successor_id).toBe(winners[0]);
  });

  it.skipIf(testDialect === 'sqlite')(
    'answers storage_unavailable, not a driver error, when the server cannot be reached',
    async () => {
      const url = new URL(database.url);
      url.port = '1';
      const unreachable = openStore(
        loadConfig({ env: { GATEHOUSE_DATABASE_URL: url.href }, cwd: database.dataDir }).database,
        () => {},
      );
      try {
        const failure = await findUserById(unreachable.db, uuidv7()).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(GatehouseError);
        expect((failure as GatehouseError).code).toBe('storage_unavailable');
      } finally {
        await unreachable.close();
      }
    },
  );
});
