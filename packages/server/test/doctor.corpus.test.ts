import type { CryptoKey } from 'jose';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../src/apikeys/key-format.js';
import { fixedClock } from '../src/clock.js';
import { adminToken, clientWithKey } from './support/admin.js';
import {
  type CorpusCase,
  caseLabel,
  doctorVerdict,
  emptyTexts,
  type Jwt,
  jwtTextMutations,
  keepSignature,
  type Mutation,
  type MutationContext,
  mapLimited,
  mutationPairs,
  readJwt,
  replaceAt,
  serverVerdict,
  signJwt,
  type TextMutation,
  textMutations,
  tokenMutations,
  useCredential,
} from './support/credential-corpus.js';
import { call, PASSWORD, type Reply, signUp } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer, type TestServer } from './support/test-server.js';

// The promise of `doctor`: the code it gives a credential is the code the server answers when the
// credential is used where it belongs. Each credential below is shown to the doctor first, then used once.

const ISSUER = 'http://auth.example.test';
const OTHER_ISSUER = 'https://other.example.test';
const OTHER_AUDIENCE = 'https://api.example.test';
/** Half a second past a whole second: the doctor may count milliseconds where jose counts seconds. */
const START = Math.floor(Date.now() / 1000) * 1000 + 500;
/**
 * Past every short lifetime below, and past the 640 s a retired key keeps verifying (600 s tokens, 30 s
 * skew, two 5 s keyring reloads).
 */
const CLOCK_MOVE_MS = 11 * 60_000;
const CONCURRENCY = 8;
/** One case in this many (of those whose use changes nothing) is checked for a side effect of the doctor. */
const SIDE_EFFECT_SAMPLE_EVERY = 5;
/** The frozen clock never ends a rate-limit window, and every request comes from one address. */
const INSTALLATION_ENV = {
  GATEHOUSE_PUBLIC_URL: ISSUER,
  GATEHOUSE_LOGIN_RATE_LIMIT: '0',
  GATEHOUSE_TOKEN_RATE_LIMIT: '0',
  GATEHOUSE_KEY_VERIFY_RATE_LIMIT: '0',
  GATEHOUSE_MAX_SESSIONS_PER_USER: '10000',
};
const SESSION_CONTEXT = { ip: '127.0.0.1', userAgent: 'credential-corpus', requestId: null };

const FAMILY = {
  realAccess: 'access token: as issued',
  oneChange: 'access token: one property changed',
  twoChanges: 'access token: two properties broken at once',
  audience: 'access token: used on an instance with another audience',
  accessText: 'access token: as text',
  accessState: 'access token: session and user state',
  refreshRotation: 'refresh token: rotation',
  refreshState: 'refresh token: session and user state',
  refreshForeign: 'refresh token: not issued here',
  refreshText: 'refresh token: as text',
  keyLifecycle: 'API key: lifecycle',
  keyForm: 'API key: form',
  keyText: 'API key: as text',
} as const;

interface Signer {
  kid: string;
  alg: string;
  key: CryptoKey;
}

interface Signers {
  active: Signer;
  retiredVerifying: Signer;
  retiredPastWindow: Signer;
  otherInstallation: Signer;
}

interface World {
  /** The instance credentials are used on, and the one that issues most of them. */
  main: TestServer;
  /** Same database, another GATEHOUSE_TOKEN_AUDIENCE. */
  audience: TestServer;
  /** Same database: a session idle for a minute has expired. */
  idle: TestServer;
  /** Same database: issues refresh tokens that live a minute. */
  shortRefresh: TestServer;
  /** Same database: issues sessions that live two minutes. */
  shortSession: TestServer;
  /** Another installation: another database, other keys, another issuer. */
  other: TestServer;
  /** Root API keys, which outlive any clock move. */
  admin: string;
  otherAdmin: string;
  /** User ids: two people of this installation, its administrator, and a person of the other one. */
  alice: string;
  bob: string;
  bobSession: string;
  administrator: string;
  otherUser: string;
}

/** Prepares what must age before the clock moves, and answers how to finish the cases after. */
type Family = (world: World) => Promise<(signers: Signers) => Promise<CorpusCase[]>>;

interface Started {
  access_token: string;
  refresh_token: string;
  session_id: string;
}

const sameInstallation = (world: World) => [
  world.main,
  world.audience,
  world.idle,
  world.shortRefresh,
  world.shortSession,
];

function expectStatus(reply: Reply, status: number): Reply {
  expect(reply.status, reply.text).toBe(status);
  return reply;
}

const startSession = (on: TestServer, userId: string, roles: string[] = []): Promise<Started> =>
  on.gatehouse.sessions.start({ id: userId, roles }, SESSION_CONTEXT);

const useRefreshToken = (on: TestServer, refreshToken: string) => useCredential(on, 'refresh', refreshToken);

async function rotatedFamily(on: TestServer, userId: string) {
  const first = await startSession(on, userId);
  const rotated = expectStatus(await useRefreshToken(on, first.refresh_token), 200).body as Started;
  return { first, successor: { ...rotated, session_id: first.session_id } };
}

/** A replay after the grace: refused, and the family revoked. */
async function replayAfterGrace(on: TestServer, refreshToken: string) {
  const reply = await useRefreshToken(on, refreshToken);
  expect(reply.status, reply.text).not.toBe(200);
}

/** A fresh access token for a session that began before the clock moved. */
const accessTokenFor = async (on: TestServer, userId: string, sessionId: string) =>
  (await on.gatehouse.accessTokens.issue({ sub: userId, sid: sessionId, scope: 'openid profile email' }))
    .token;

const asAdmin = (world: World, method: string, path: string, body?: unknown) =>
  call(world.main.url, method, path, { token: world.admin, ...(body === undefined ? {} : { body }) });

async function newClient(world: World): Promise<string> {
  return expectStatus(await asAdmin(world, 'POST', '/v1/admin/clients', { name: 'corpus' }), 201).body.id;
}

async function newKey(world: World, clientId: string, options: Record<string, unknown> = {}) {
  const reply = await asAdmin(world, 'POST', `/v1/admin/clients/${clientId}/keys`, {
    name: 'corpus',
    ...options,
  });
  return expectStatus(reply, 201).body as { id: string; key: string };
}

async function rotateKey(world: World, keyId: string, graceSeconds: number): Promise<string> {
  const reply = await asAdmin(world, 'POST', `/v1/admin/keys/${keyId}/rotate`, {
    grace_seconds: graceSeconds,
  });
  return expectStatus(reply, 201).body.key;
}

const revokeKey = async (world: World, keyId: string) =>
  expectStatus(await asAdmin(world, 'DELETE', `/v1/admin/keys/${keyId}`), 204);

const setClientStatus = async (world: World, clientId: string, status: 'active' | 'suspended') =>
  expectStatus(await asAdmin(world, 'PATCH', `/v1/admin/clients/${clientId}`, { status }), 200);

const newUser = async (world: World) => (await signUp(world.main.url)).user.id;

function casesOf(family: string, endpoint: CorpusCase['endpoint'], on: TestServer) {
  return (entries: [name: string, credential: string][]): CorpusCase[] =>
    entries.map(([name, credential]) => ({ family, name, endpoint, on, credential }));
}

async function openWorld(
  database: TestDatabase,
  otherDatabase: TestDatabase,
  clock: ReturnType<typeof fixedClock>,
): Promise<World> {
  const instance = (env: Record<string, string> = {}) =>
    startTestServer(database, { clock, env: { ...INSTALLATION_ENV, ...env } });
  const main = await instance();
  const audience = await instance({ GATEHOUSE_TOKEN_AUDIENCE: OTHER_AUDIENCE });
  const idle = await instance({ GATEHOUSE_SESSION_IDLE_TIMEOUT: '60s' });
  const shortRefresh = await instance({ GATEHOUSE_REFRESH_TOKEN_TTL: '60s' });
  const shortSession = await instance({ GATEHOUSE_SESSION_ABSOLUTE_TIMEOUT: '2m' });
  const other = await startTestServer(otherDatabase, {
    clock,
    env: { ...INSTALLATION_ENV, GATEHOUSE_PUBLIC_URL: OTHER_ISSUER },
  });
  const adminAccessToken = await adminToken(main);
  const bob = await signUp(main.url);
  return {
    main,
    audience,
    idle,
    shortRefresh,
    shortSession,
    other,
    admin: (await clientWithKey(main, adminAccessToken, ['admin'])).key,
    otherAdmin: (await clientWithKey(other, await adminToken(other), ['admin'])).key,
    alice: (await signUp(main.url)).user.id,
    bob: bob.user.id,
    bobSession: bob.session_id,
    administrator: String(readJwt(adminAccessToken).claims.sub),
    otherUser: (await signUp(other.url)).user.id,
  };
}

/** Retires the active key of the installation; every instance reloads its keyring. */
async function rotateSigningKeys(world: World): Promise<Signer> {
  const retired = world.main.gatehouse.keyring.signer();
  await world.main.gatehouse.keyring.rotate({ force: true });
  for (const instance of sameInstallation(world)) await instance.gatehouse.keyring.reload();
  return retired;
}

const realAccessTokens: Family = async (world) => async () => {
  const refreshed = await rotatedFamily(world.main, world.alice);
  const administrator = await startSession(world.main, world.administrator, ['admin']);
  const foreign = await startSession(world.other, world.otherUser);
  return casesOf(
    FAMILY.realAccess,
    'me',
    world.main,
  )([
    ["a user's", (await startSession(world.main, world.alice)).access_token],
    ["another user's", (await startSession(world.main, world.bob)).access_token],
    ["an administrator's", administrator.access_token],
    ['from a refresh', refreshed.successor.access_token],
    ['issued by another installation', foreign.access_token],
  ]);
};

/** The claims and ids the token mutations start from, all current once the clock has moved. */
async function mutationGround(world: World, signers: Signers) {
  const { main } = world;
  const base = await startSession(main, world.alice);
  const revoked = await startSession(main, world.alice);
  expectStatus(await call(main.url, 'POST', '/v1/auth/logout', { token: revoked.access_token }), 204);
  const next = main.gatehouse.keyring.list().find((key) => key.state === 'next');
  const context: MutationContext = {
    now: Math.floor(main.gatehouse.clock.now() / 1000),
    skewSeconds: main.gatehouse.config.clockSkewSeconds,
    issuer: ISSUER,
    otherIssuer: OTHER_ISSUER,
    otherAudience: OTHER_AUDIENCE,
    alg: signers.active.alg,
    otherAllowedAlg: signers.active.alg === 'EdDSA' ? 'ES256' : 'EdDSA',
    keys: {
      retiredPastWindow: signers.retiredPastWindow.kid,
      retiredVerifying: signers.retiredVerifying.kid,
      next: next?.kid ?? 'no-next-key',
    },
    ids: {
      anotherUser: world.bob,
      anotherUsersSession: world.bobSession,
      sameUsersOtherSession: (await startSession(main, world.alice)).session_id,
      sameUsersRevokedSession: revoked.session_id,
      neverExisted: uuidv7(),
    },
  };
  return { token: base.access_token, jwt: readJwt(base.access_token), context };
}

interface Seal {
  name: string;
  signer: Signer;
  seal(jwt: Jwt): string;
}

function signingSeals(signers: Signers): Seal[] {
  const signing: [string, Signer][] = [
    ['signed by the active key', signers.active],
    ['signed by the retired key that still verifies', signers.retiredVerifying],
    ['signed by a key retired past its window', signers.retiredPastWindow],
    ["signed by another installation's key", signers.otherInstallation],
  ];
  return signing.map(([name, signer]) => ({ name, signer, seal: (jwt) => signJwt(jwt, signer.key) }));
}

const keptSignatureSeal = (signers: Signers, baseToken: string): Seal => ({
  name: 'under the original signature',
  signer: signers.active,
  seal: (jwt) => keepSignature(jwt, baseToken),
});

const withSigner = ({ header, claims }: Jwt, signer: Signer): Jwt => ({
  header: { ...header, alg: signer.alg, kid: signer.kid },
  claims,
});

function mutatedCases(family: string, on: TestServer, base: Jwt, seal: Seal, mutations: Mutation[]) {
  const start = withSigner(base, seal.signer);
  return casesOf(
    family,
    'me',
    on,
  )(mutations.map((mutation) => [`${mutation.name}, ${seal.name}`, seal.seal(mutation.apply(start))]));
}

const unchanged: Mutation = { field: '', name: 'unchanged', apply: (jwt) => jwt };

const mutatedAccessTokens: Family = async (world) => async (signers) => {
  const { token, jwt, context } = await mutationGround(world, signers);
  const mutations = tokenMutations(context);
  const signing = signingSeals(signers);
  const [activeKey] = signing as [Seal];
  const audienceMutations = [unchanged, ...mutations.filter((mutation) => mutation.field === 'aud')];
  return [
    ...signing.flatMap((seal) => mutatedCases(FAMILY.realAccess, world.main, jwt, seal, [unchanged])),
    ...[...signing, keptSignatureSeal(signers, token)].flatMap((seal) =>
      mutatedCases(FAMILY.oneChange, world.main, jwt, seal, mutations),
    ),
    ...mutatedCases(FAMILY.twoChanges, world.main, jwt, activeKey, mutationPairs(context)),
    ...mutatedCases(FAMILY.audience, world.audience, jwt, activeKey, audienceMutations),
  ];
};

/** Each mutation applied to its own `credential()`, and the texts that hold no credential at all. */
async function textCases(
  family: string,
  endpoint: CorpusCase['endpoint'],
  on: TestServer,
  credential: () => Promise<string>,
  mutations: TextMutation[] = textMutations,
): Promise<CorpusCase[]> {
  const mutated = await Promise.all(
    mutations.map(async ([name, apply]): Promise<[string, string]> => [name, apply(await credential())]),
  );
  return casesOf(family, endpoint, on)([...mutated, ...emptyTexts]);
}

const credentialsAsText: Family = async (world) => async () => {
  const { main } = world;
  const accessToken = (await startSession(main, world.alice)).access_token;
  const { key } = await newKey(world, await newClient(world));
  // A fresh family for each refresh token: one the server accepts is rotated by the use.
  const refreshToken = async () => (await startSession(main, world.alice)).refresh_token;
  return [
    ...(await textCases(FAMILY.accessText, 'me', main, async () => accessToken, [
      ...textMutations,
      ...jwtTextMutations,
    ])),
    ...(await textCases(FAMILY.refreshText, 'refresh', main, refreshToken)),
    ...(await textCases(FAMILY.keyText, 'verify', main, async () => key)),
  ];
};

interface SessionCredentials {
  access: string;
  refresh: string;
  on?: TestServer;
}

const credentialsOf = (started: Started): SessionCredentials => ({
  access: started.access_token,
  refresh: started.refresh_token,
});

/** The same session state seen through its access token and through its refresh token. */
async function stateCases(world: World, situations: [string, () => Promise<SessionCredentials>][]) {
  const cases: CorpusCase[] = [];
  for (const [name, prepare] of situations) {
    const { access, refresh, on = world.main } = await prepare();
    cases.push(
      { family: FAMILY.accessState, name, endpoint: 'me', on, credential: access },
      { family: FAMILY.refreshState, name, endpoint: 'refresh', on, credential: refresh },
    );
  }
  return cases;
}

async function disableByImport(world: World, userId: string) {
  const { userTransfer } = world.main.gatehouse;
  const lines: string[] = [];
  for await (const record of userTransfer.exportUsers({ withoutMfa: true })) {
    if (record.id === userId)
      lines.push(
        JSON.stringify({ ...record, disabled_at: new Date(world.main.gatehouse.clock.now()).toISOString() }),
      );
  }
  expect((await userTransfer.importLines(lines)).updated).toBe(1);
}

/** Situations whose state comes from an administrator, the user, or an import. */
function managedSituations(world: World): [string, () => Promise<SessionCredentials>][] {
  const { main } = world;
  const ofNewUser = async (change: (userId: string, started: Started) => Promise<unknown>) => {
    const userId = await newUser(world);
    const started = await startSession(main, userId);
    await change(userId, started);
    return credentialsOf(started);
  };
  const patchUser = (userId: string, body: unknown) =>
    asAdmin(world, 'PATCH', `/v1/admin/users/${userId}`, body).then((reply) => expectStatus(reply, 200));
  return [
    ['a live session', async () => credentialsOf(await startSession(main, world.alice))],
    [
      'logged out',
      () =>
        ofNewUser(async (_, started) =>
          expectStatus(await call(main.url, 'POST', '/v1/auth/logout', { token: started.access_token }), 204),
        ),
    ],
    [
      'revoked by an administrator',
      () =>
        ofNewUser(async (userId, started) =>
          expectStatus(
            await asAdmin(world, 'DELETE', `/v1/admin/users/${userId}/sessions/${started.session_id}`),
            204,
          ),
        ),
    ],
    [
      'ended when an administrator revoked every session of the user',
      () =>
        ofNewUser(async (userId) =>
          expectStatus(await asAdmin(world, 'DELETE', `/v1/admin/users/${userId}/sessions`), 200),
        ),
    ],
    [
      'ended by a password change in another session',
      () =>
        ofNewUser(async (userId) => {
          const changer = await startSession(main, userId);
          const body = { current_password: PASSWORD, new_password: `${PASSWORD} again` };
          expectStatus(
            await call(main.url, 'POST', '/v1/auth/password', { token: changer.access_token, body }),
            204,
          );
        }),
    ],
    [
      'of a user an administrator disabled',
      () => ofNewUser((userId) => patchUser(userId, { disabled: true })),
    ],
    [
      'of a user disabled by an import, the session still live',
      () => ofNewUser((userId) => disableByImport(world, userId)),
    ],
    [
      'of a user an administrator deleted',
      () =>
        ofNewUser(async (userId) =>
          expectStatus(await asAdmin(world, 'DELETE', `/v1/admin/users/${userId}`), 204),
        ),
    ],
    [
      'whose session row is gone, as after restoring an older backup',
      () =>
        ofNewUser((_, started) =>
          main.gatehouse.store.db.deleteFrom('sessions').where('id', '=', started.session_id).execute(),
        ),
    ],
    [
      'revoked through /oauth/revoke',
      () =>
        ofNewUser(async (_, started) =>
          expectStatus(
            await call(main.url, 'POST', '/oauth/revoke', { form: { token: started.refresh_token } }),
            200,
          ),
        ),
    ],
    [
      'begun after the user was disabled and enabled again',
      async () => {
        const userId = await newUser(world);
        await patchUser(userId, { disabled: true });
        await patchUser(userId, { disabled: false });
        return credentialsOf(await startSession(main, userId));
      },
    ],
  ];
}

const sessionStates: Family = async (world) => {
  const { main } = world;
  const idle = await startSession(main, world.alice);
  const shortLived = await startSession(world.shortSession, world.alice);
  const shortRefresh = await startSession(world.shortRefresh, world.alice);
  const reused = await rotatedFamily(main, world.alice);
  return async () => {
    await replayAfterGrace(main, reused.first.refresh_token);
    const aged =
      (on: TestServer, started: Started, issuer = main) =>
      async () => ({
        access: await accessTokenFor(issuer, world.alice, started.session_id),
        refresh: started.refresh_token,
        on,
      });
    return stateCases(world, [
      ...managedSituations(world),
      ['idle past the idle timeout', aged(world.idle, idle, world.idle)],
      ['past its absolute lifetime', aged(main, shortLived)],
      ['whose refresh token outlived its minute', aged(main, shortRefresh)],
      ['of a family a refresh token reuse revoked', aged(main, reused.successor)],
    ]);
  };
};

const refreshRotation: Family = async (world) => {
  const { main, alice } = world;
  const afterGrace = await rotatedFamily(main, alice);
  const refusedOnce = await rotatedFamily(main, alice);
  const revokedByReuse = await rotatedFamily(main, alice);
  return async () => {
    for (const family of [refusedOnce, revokedByReuse])
      await replayAfterGrace(main, family.first.refresh_token);
    const inGrace = await rotatedFamily(main, alice);
    const chain = await rotatedFamily(main, alice);
    expectStatus(await useRefreshToken(main, chain.successor.refresh_token), 200);
    const cases = casesOf(
      FAMILY.refreshRotation,
      'refresh',
      main,
    )([
      ['never used', (await startSession(main, alice)).refresh_token],
      ['used once, presented again inside the grace', inGrace.first.refresh_token],
      ['the successor of a rotation', (await rotatedFamily(main, alice)).successor.refresh_token],
      ['rotated twice, the first presented inside the grace', chain.first.refresh_token],
      ['presented again after its reuse revoked the family', refusedOnce.first.refresh_token],
      ['the successor in a family a reuse revoked', revokedByReuse.successor.refresh_token],
    ]);
    return [
      ...cases,
      {
        family: FAMILY.refreshRotation,
        name: 'used once, presented after the grace',
        endpoint: 'refresh',
        on: main,
        credential: afterGrace.first.refresh_token,
        changesServerState: true,
      },
    ];
  };
};

const foreignRefreshTokens: Family = async (world) => async () => {
  const foreign = await startSession(world.other, world.otherUser);
  return casesOf(
    FAMILY.refreshForeign,
    'refresh',
    world.main,
  )([
    ["another installation's", foreign.refresh_token],
    ['the right shape, never issued', `grt_${'Q'.repeat(43)}`],
    ['grt_ and garbage', 'grt_not-a-real-token'],
    ['grt_ alone', 'grt_'],
  ]);
};

/** Keys whose own rate limit counts every use: the setup uses each `usedBefore` times. */
async function rateLimitedKeys(world: World, clientId: string): Promise<CorpusCase[]> {
  const limits: [name: string, limit: number, usedBefore: number][] = [
    ['over its own rate limit', 1, 1],
    ['at its own rate limit', 2, 1],
    ['with a rate limit, never used', 1, 0],
  ];
  const cases: CorpusCase[] = [];
  for (const [name, limit, usedBefore] of limits) {
    const { key } = await newKey(world, clientId, { rate_limit: { limit, window_seconds: 3600 } });
    for (let use = 0; use < usedBefore; use++)
      expectStatus(await useCredential(world.main, 'verify', key), 200);
    cases.push({
      family: FAMILY.keyLifecycle,
      name,
      endpoint: 'verify',
      on: world.main,
      credential: key,
      changesServerState: true,
    });
  }
  return cases;
}

const keyLifecycle: Family = async (world) => {
  const clientId = await newClient(world);
  const suspendedClient = await newClient(world);
  const expired = await newKey(world, clientId, { expires_in: 60 });
  const expiredThenRevoked = await newKey(world, clientId, { expires_in: 60 });
  const expiredOfSuspended = await newKey(world, suspendedClient, { expires_in: 60 });
  const rotatedEarly = await newKey(world, clientId);
  const successorAfterGrace = await rotateKey(world, rotatedEarly.id, 60);
  return async () => {
    await revokeKey(world, expiredThenRevoked.id);
    const scoped = async (scope: string) => (await newKey(world, clientId, { scopes: [scope] })).key;
    const revoked = await newKey(world, clientId);
    await revokeKey(world, revoked.id);
    const rotated = await newKey(world, clientId);
    const successorInGrace = await rotateKey(world, rotated.id, 86_400);
    const rotatedWithoutGrace = await newKey(world, clientId);
    await rotateKey(world, rotatedWithoutGrace.id, 0);
    const suspended = await newKey(world, suspendedClient);
    const revokedOfSuspended = await newKey(world, suspendedClient);
    await revokeKey(world, revokedOfSuspended.id);
    await setClientStatus(world, suspendedClient, 'suspended');
    const reactivatedClient = await newClient(world);
    const reactivated = await newKey(world, reactivatedClient);
    await setClientStatus(world, reactivatedClient, 'suspended');
    await setClientStatus(world, reactivatedClient, 'active');
    const foreign = await clientWithKey(world.other, world.otherAdmin);
    return [
      ...casesOf(
        FAMILY.keyLifecycle,
        'verify',
        world.main,
      )([
        ...(await Promise.all(
          ['agent', 'introspect', 'vault:read', 'admin'].map(
            async (scope): Promise<[string, string]> => [
              `valid, with the ${scope} scope`,
              await scoped(scope),
            ],
          ),
        )),
        ['revoked', revoked.key],
        ['rotated, inside its grace', rotated.key],
        ['the key that replaced a key inside its grace', successorInGrace],
        ['rotated with no grace', rotatedWithoutGrace.key],
        ['rotated, presented after its grace', rotatedEarly.key],
        ['the key that replaced a key past its grace', successorAfterGrace],
        ['expired', expired.key],
        ['expiring in an hour', (await newKey(world, clientId, { expires_in: 3600 })).key],
        ['expired, then revoked', expiredThenRevoked.key],
        ['of a suspended client', suspended.key],
        ['revoked, of a suspended client', revokedOfSuspended.key],
        ['expired, of a suspended client', expiredOfSuspended.key],
        ['of a client suspended, then activated again', reactivated.key],
        ["another installation's", foreign.key],
      ]),
      ...(await rateLimitedKeys(world, clientId)),
    ];
  };
};

const keyForms: Family = async (world) => async () => {
  const { key } = await newKey(world, await newClient(world));
  const { key: another } = await newKey(world, await newClient(world));
  const foreign = (await clientWithKey(world.other, world.otherAdmin)).key;
  const tag = key.split('_')[1]!;
  const secretIndex = 20;
  return casesOf(
    FAMILY.keyForm,
    'verify',
    world.main,
  )([
    ['the right form for this installation, never issued', generateApiKey(tag)],
    ['the right form for an installation that does not exist', generateApiKey('zzzzzzzz')],
    ['a secret character changed', replaceAt(key, secretIndex, key[secretIndex] === 'a' ? 'b' : 'a')],
    ['the checksum of another key', `${key.slice(0, -6)}${another.slice(-6)}`],
    ['gk- where gk_ belongs', key.replace('gk_', 'gk-')],
    ['without its gk_ prefix', key.slice(3)],
    ['without its secret', `gk_${tag}`],
    ['the installation tag upper-cased', key.replace(tag, tag.toUpperCase())],
    ['a hyphen inside the secret', replaceAt(key, secretIndex, '-')],
    [
      "another installation's, a secret character changed",
      replaceAt(foreign, secretIndex, foreign[secretIndex] === 'a' ? 'b' : 'a'),
    ],
  ]);
};

const families: Family[] = [
  realAccessTokens,
  mutatedAccessTokens,
  credentialsAsText,
  sessionStates,
  refreshRotation,
  foreignRefreshTokens,
  keyLifecycle,
  keyForms,
];

async function buildCorpus(world: World, clock: ReturnType<typeof fixedClock>): Promise<CorpusCase[]> {
  const retiredPastWindow = await rotateSigningKeys(world);
  const finishers = [];
  for (const family of families) finishers.push(await family(world));
  clock.advance(CLOCK_MOVE_MS);
  const retiredVerifying = await rotateSigningKeys(world);
  const signers: Signers = {
    active: world.main.gatehouse.keyring.signer(),
    retiredVerifying,
    retiredPastWindow,
    otherInstallation: world.other.gatehouse.keyring.signer(),
  };
  const corpus: CorpusCase[] = [];
  for (const finish of finishers) corpus.push(...(await finish(signers)));
  return corpus;
}

describe('doctor predicts the server: each credential of a corpus gets the same verdict from both', () => {
  // Frozen: a case must not age between the doctor's answer and the server's (a grace, a skew, an expiry).
  const clock = fixedClock(START);
  const databases: TestDatabase[] = [];
  let world: World;
  let corpus: CorpusCase[];

  beforeAll(async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const otherDatabase = await createTestDatabase();
    databases.push(otherDatabase);
    world = await openWorld(database, otherDatabase, clock);
    corpus = await buildCorpus(world, clock);
  }, 120_000);
  afterAll(async () => {
    for (const server of world ? [...sameInstallation(world), world.other] : []) await server.close();
    for (const database of databases) await database.drop();
  });

  it('holds at least 500 credentials, from every family', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(500);
    expect(new Set(corpus.map((corpusCase) => corpusCase.family))).toEqual(new Set(Object.values(FAMILY)));
    expect(new Set(corpus.map(caseLabel)).size, 'every case has its own name').toBe(corpus.length);
  });

  it('the doctor gives each credential the code the server answers where it is used', async () => {
    const answers = await mapLimited(corpus, CONCURRENCY, async (corpusCase) => {
      const doctor = await doctorVerdict(
        corpusCase.on,
        world.admin,
        corpusCase.endpoint,
        corpusCase.credential,
      );
      const server = await serverVerdict(corpusCase.on, corpusCase.endpoint, corpusCase.credential);
      return { case: caseLabel(corpusCase), doctor, server };
    });
    expect(answers.filter((answer) => answer.doctor !== answer.server)).toEqual([]);
  }, 60_000);

  it('asking the doctor changes nothing the server answers next', async () => {
    const sample = corpus
      .filter((corpusCase) => !corpusCase.changesServerState)
      .filter((_, index) => index % SIDE_EFFECT_SAMPLE_EVERY === 0);
    const answers = await mapLimited(sample, CONCURRENCY, async (corpusCase) => {
      const { on, endpoint, credential } = corpusCase;
      const before = await serverVerdict(on, endpoint, credential);
      await doctorVerdict(on, world.admin, endpoint, credential);
      await doctorVerdict(on, world.admin, endpoint, credential);
      return { case: caseLabel(corpusCase), before, after: await serverVerdict(on, endpoint, credential) };
    });
    expect(answers.filter((answer) => answer.before !== answer.after)).toEqual([]);
  }, 60_000);
});
