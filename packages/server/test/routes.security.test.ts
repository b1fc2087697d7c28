import pLimit from 'p-limit';
import { v7 as uuidv7 } from 'uuid';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_SCOPES, type ApiKeyScope } from '../src/apikeys/api-keys.js';
import { adminToken, clientWithKey } from './support/admin.js';
import { call, type Reply, signUp } from './support/http.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

/** Operations anyone may call: probes, discovery, and the ways to obtain or check a credential. */
const PUBLIC_OPERATIONS = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /.well-known/openid-configuration',
  'GET /.well-known/jwks.json',
  'POST /v1/auth/signup',
  'POST /v1/auth/login',
  'POST /v1/auth/mfa/verify',
  'POST /oauth/token',
  'POST /oauth/revoke',
  'POST /v1/keys/verify',
];

/** What a route's guard lets through: a user's access token (with a role, when one is needed), an API key. */
interface Accepts {
  user?: { role?: 'admin' };
  keyScope?: ApiKeyScope;
}

/**
 * The document protects every guarded operation with the same `bearer` scheme and no scopes, so it cannot say
 * whether a route takes a user's token, an admin's, or an API key. These rules mirror the guard each route
 * file installs (bearer.ts: requireUser, requireAdmin, requireUserRoleOrKey, requireKey).
 */
const GUARD_RULES: { path: RegExp; accepts: Accepts }[] = [
  { path: /^\/v1\/admin\//, accepts: { user: { role: 'admin' }, keyScope: 'admin' } },
  { path: /^\/oauth\/introspect$/, accepts: { user: { role: 'admin' }, keyScope: 'introspect' } },
  { path: /^\/v1\/agents\//, accepts: { keyScope: 'agent' } },
  { path: /^\/v1\/vault\//, accepts: { keyScope: 'vault:read' } },
  { path: /^\/v1\/auth\//, accepts: { user: {} } },
  { path: /^\/oauth\/userinfo$/, accepts: { user: {} } },
];

interface OpenApiParameter {
  in: string;
  name: string;
  schema?: { format?: string };
}
interface OpenApiOperation {
  security?: Record<string, string[]>[];
  parameters?: OpenApiParameter[];
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { securitySchemes: Record<string, unknown> };
}

interface Operation {
  /** `METHOD /path/{param}` as the document names it. */
  name: string;
  method: string;
  path: string;
  /** The path with every parameter filled in. */
  url: string;
  security: Record<string, string[]>[] | undefined;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** A plausible value that names nothing: the guards run before the route looks anything up. */
const placeholderFor = (parameter: OpenApiParameter) =>
  parameter.schema?.format === 'uuid' ? uuidv7() : `no-such-${parameter.name}`;

function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, operation]) => {
        const url = (operation.parameters ?? [])
          .filter((parameter) => parameter.in === 'path')
          .reduce(
            (filled, parameter) => filled.replace(`{${parameter.name}}`, placeholderFor(parameter)),
            path,
          );
        const name = `${method.toUpperCase()} ${path}`;
        return { name, method: method.toUpperCase(), path, url, security: operation.security };
      }),
  );
}

/** The key with one character of its secret changed, so its checksum no longer matches. */
const mistyped = (key: string, at = 30) =>
  `${key.slice(0, at)}${key[at] === 'a' ? 'b' : 'a'}${key.slice(at + 1)}`;

const isProtected = (operation: Operation) => (operation.security?.length ?? 0) > 0;
const acceptsOf = (operation: Operation) =>
  GUARD_RULES.find((rule) => rule.path.test(operation.path))?.accepts;

/** The credentials the refusals are made with; each is built once and sent to every operation it applies to. */
interface Credentials {
  garbage: string;
  expiredToken: string;
  revokedSessionToken: string;
  disabledUserToken: string;
  nonAdminToken: string;
  adminToken: string;
  everyScopeKey: string;
  mistypedKey: string;
  suspendedClientKey: string;
  keyWithout: Record<ApiKeyScope, string>;
}

interface Refusal {
  credential: string;
  applies(accepts: Accepts): boolean;
  token(credentials: Credentials, accepts: Accepts): string | undefined;
  status: 401 | 403;
  code: string;
}

const takesUser = (accepts: Accepts) => accepts.user !== undefined;
const takesKey = (accepts: Accepts) => accepts.keyScope !== undefined;

const REFUSALS: Refusal[] = [
  {
    credential: 'no credential',
    applies: () => true,
    token: () => undefined,
    status: 401,
    code: 'token_missing',
  },
  {
    credential: 'garbage',
    applies: takesUser,
    token: (credentials) => credentials.garbage,
    status: 401,
    code: 'token_malformed',
  },
  {
    credential: 'garbage',
    applies: (accepts) => !takesUser(accepts),
    token: (credentials) => credentials.garbage,
    status: 401,
    code: 'key_malformed',
  },
  {
    credential: 'an expired access token',
    applies: takesUser,
    token: (credentials) => credentials.expiredToken,
    status: 401,
    code: 'token_expired',
  },
  {
    credential: 'a token of a session ended by logout',
    applies: takesUser,
    token: (credentials) => credentials.revokedSessionToken,
    status: 401,
    code: 'session_revoked',
  },
  {
    credential: 'a token of a disabled user whose session is live',
    applies: takesUser,
    token: (credentials) => credentials.disabledUserToken,
    status: 401,
    code: 'user_disabled',
  },
  {
    credential: 'a token of a user without the admin role',
    applies: (accepts) => accepts.user?.role === 'admin',
    token: (credentials) => credentials.nonAdminToken,
    status: 403,
    code: 'scope_insufficient',
  },
  {
    credential: 'an API key holding every scope',
    applies: (accepts) => !takesKey(accepts),
    token: (credentials) => credentials.everyScopeKey,
    status: 401,
    code: 'token_malformed',
  },
  {
    credential: 'an admin’s access token',
    applies: (accepts) => !takesUser(accepts),
    token: (credentials) => credentials.adminToken,
    status: 401,
    code: 'key_malformed',
  },
  {
    credential: 'a key with one character mistyped',
    applies: takesKey,
    token: (credentials) => credentials.mistypedKey,
    status: 401,
    code: 'key_malformed',
  },
  {
    credential: 'a key of a suspended client',
    applies: takesKey,
    token: (credentials) => credentials.suspendedClientKey,
    status: 401,
    code: 'client_inactive',
  },
  {
    credential: 'a key holding every scope but the one the route needs',
    applies: takesKey,
    token: (credentials, accepts) => credentials.keyWithout[accepts.keyScope!],
    status: 403,
    code: 'scope_insufficient',
  },
];

/** What is wrong with a refusal, or undefined when it is the contract's: problem+json, reason code, challenge. */
function problemWith(reply: Reply, refusal: Refusal): string | undefined {
  const { status, code } = refusal;
  if (reply.status !== status || reply.body?.code !== code)
    return `expected ${status} ${code}, got ${reply.status} ${reply.body?.code ?? reply.text.slice(0, 120)}`;
  if (!reply.headers.get('content-type')?.startsWith('application/problem+json'))
    return `content-type ${reply.headers.get('content-type')}`;
  const { body } = reply;
  if (
    body.status !== status ||
    body.type !== `urn:gatehouse:problem:${code}` ||
    typeof body.hint !== 'string'
  )
    return `problem body ${reply.text.slice(0, 200)}`;
  if (body.request_id !== reply.headers.get('x-request-id')) return 'request_id differs from x-request-id';
  // RFC 6750 §3: a refused bearer credential names its error; a missing one gets the realm alone.
  const challenge = reply.headers.get('www-authenticate') ?? '';
  if (code === 'token_missing' && !/^Bearer realm="[^"]+"$/.test(challenge)) return `challenge ${challenge}`;
  if (status === 401 && code !== 'token_missing' && !challenge.includes(`error_description="${code}"`))
    return `challenge "${challenge}"`;
  return undefined;
}

describe('every protected operation of the OpenAPI document refuses bad credentials the same way', () => {
  let server: TestServer;
  let operations: Operation[];
  let securitySchemes: string[];
  let credentials: Credentials;
  const clock = offsetClock();
  useTestServer({ clock }, (started) => {
    server = started.server;
  });

  /** A token whose session is live, issued before the clock moved past its lifetime and the allowed skew. */
  async function expiredAccessToken() {
    const { access_token } = await signUp(server.url);
    const { accessTokenTtl, clockSkewSeconds } = server.gatehouse.config;
    clock.advance((accessTokenTtl + clockSkewSeconds + 1) * 1000);
    return access_token;
  }

  async function revokedSessionToken() {
    const { access_token } = await signUp(server.url);
    expect((await call(server.url, 'POST', '/v1/auth/logout', { token: access_token })).status).toBe(204);
    return access_token;
  }

  // Disabling through the admin API also revokes the sessions (and that is checked first); an import can
  // disable a user while a session stays live, which only the account check then stops.
  async function disabledUserToken() {
    const { access_token, user } = await signUp(server.url);
    await server.gatehouse.users.update(user.id, { disabled: true });
    return access_token;
  }

  async function keyOf(admin: string, clientId: string, scopes: readonly string[]) {
    const reply = await call(server.url, 'POST', `/v1/admin/clients/${clientId}/keys`, {
      token: admin,
      body: { name: scopes.join('+') || 'none', scopes },
    });
    expect(reply.status, reply.text).toBe(201);
    return reply.body.key as string;
  }

  /** Verified first, so a cached verdict from before the suspension would show. */
  async function suspendedClientKey(admin: string) {
    const { clientId, key } = await clientWithKey(server, admin, [...API_KEY_SCOPES]);
    expect((await call(server.url, 'POST', '/v1/keys/verify', { body: { key } })).body.valid).toBe(true);
    const suspended = await call(server.url, 'PATCH', `/v1/admin/clients/${clientId}`, {
      token: admin,
      body: { status: 'suspended' },
    });
    expect(suspended.status, suspended.text).toBe(200);
    return key;
  }

  async function keysWithoutEachScope(admin: string, clientId: string) {
    const allBut = (scope: ApiKeyScope) => API_KEY_SCOPES.filter((other) => other !== scope);
    const entries = await Promise.all(
      API_KEY_SCOPES.map(async (scope) => [scope, await keyOf(admin, clientId, allBut(scope))] as const),
    );
    return Object.fromEntries(entries) as Record<ApiKeyScope, string>;
  }

  beforeAll(async () => {
    const document = await call<OpenApiDocument>(server.url, 'GET', '/openapi.json');
    expect(document.status).toBe(200);
    operations = operationsOf(document.body);
    securitySchemes = Object.keys(document.body.components.securitySchemes);

    const expiredToken = await expiredAccessToken();
    const admin = await adminToken(server);
    const { clientId, key: everyScopeKey } = await clientWithKey(server, admin, [...API_KEY_SCOPES]);
    credentials = {
      garbage: 'not-a-credential',
      expiredToken,
      revokedSessionToken: await revokedSessionToken(),
      disabledUserToken: await disabledUserToken(),
      nonAdminToken: (await signUp(server.url)).access_token,
      adminToken: admin,
      everyScopeKey,
      mistypedKey: mistyped(everyScopeKey),
      suspendedClientKey: await suspendedClientKey(admin),
      keyWithout: await keysWithoutEachScope(admin, clientId),
    };
  });

  it('declares security on every operation but the public allowlist, which names only real operations', () => {
    const unguarded = operations.filter((operation) => !isProtected(operation)).map(({ name }) => name);
    expect(unguarded.filter((name) => !PUBLIC_OPERATIONS.includes(name))).toEqual([]);
    expect(PUBLIC_OPERATIONS.filter((name) => !unguarded.includes(name))).toEqual([]);
  });

  it('knows which credentials every protected operation takes', () => {
    // `bearer` does not tell a user's token from an admin's or an API key, so GUARD_RULES says which; the
    // one other scheme is the API key as an OAuth client secret, which only introspection takes.
    expect(securitySchemes).toEqual(['bearer', 'clientSecretBasic']);
    const unknown = operations.filter((operation) => isProtected(operation) && !acceptsOf(operation));
    expect(unknown.map(({ name }) => name)).toEqual([]);
  });

  for (const refusal of REFUSALS) {
    const { credential, status, code } = refusal;
    it(`answers ${credential} with ${status} ${code} wherever it applies`, async () => {
      const limit = pLimit(8);
      const targets = operations.filter(isProtected).flatMap((operation) => {
        const accepts = acceptsOf(operation);
        return accepts && refusal.applies(accepts) ? [{ operation, accepts }] : [];
      });
      expect(targets.length).toBeGreaterThan(0);
      const failures = await Promise.all(
        targets.map(({ operation, accepts }) =>
          limit(async () => {
            const token = refusal.token(credentials, accepts);
            const reply = await call(server.url, operation.method, operation.url, token ? { token } : {});
            const problem = problemWith(reply, refusal);
            return problem && `${operation.name}: ${problem}`;
          }),
        ),
      );
      expect(failures.filter(Boolean)).toEqual([]);
    });
  }
});
