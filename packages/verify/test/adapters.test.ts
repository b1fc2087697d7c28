import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, clientWithKey } from '../../server/test/support/admin.js';
import { call, signUp } from '../../server/test/support/http.js';
import { type TestServer, useTestServer } from '../../server/test/support/test-server.js';
import { createVerifier, type GatehouseAuth, type Verifier } from '../src/index.js';

/** What each guarded route answers: who the request authenticated as. */
function identity(auth: GatehouseAuth | null | undefined) {
  if (!auth) return { anonymous: true };
  return auth.kind === 'access_token'
    ? { kind: auth.kind, sub: auth.claims.sub, scopes: auth.scopes }
    : { kind: auth.kind, client: auth.client.id, scopes: auth.scopes };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function fastifyApp(verifier: Verifier) {
  const app = Fastify();
  app.get('/public', async () => ({ public: true }));
  await app.register(async (api) => {
    await api.register(verifier.fastifyPlugin);
    api.get('/me', async (request) => identity((request as { gatehouse?: GatehouseAuth }).gatehouse));
  });
  const guarded = (request: object) => identity((request as { gatehouse?: GatehouseAuth }).gatehouse);
  app.get('/admin', { onRequest: verifier.fastifyGuard({ scope: 'admin' }) }, async (request) =>
    guarded(request),
  );
  app.get(
    '/machine',
    { onRequest: verifier.fastifyGuard({ apiKeys: true, scope: 'agent' }) },
    async (request) => guarded(request),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

async function expressApp(verifier: Verifier) {
  const app = express();
  const reply = (request: express.Request, response: express.Response) => {
    response.json(identity((request as { gatehouse?: GatehouseAuth }).gatehouse));
  };
  app.get('/public', (_request, response) => {
    response.json({ public: true });
  });
  app.get('/me', verifier.expressMiddleware(), reply);
  app.get('/admin', verifier.expressMiddleware({ scope: 'admin' }), reply);
  app.get('/machine', verifier.expressMiddleware({ apiKeys: true, scope: 'agent' }), reply);
  const server = createServer(app);
  const url = await listen(server);
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A fetch-style app (what Next.js route handlers and Hono's `c.req.raw` are), served through node:http. */
async function fetchStyleApp(verifier: Verifier) {
  const respond = async (_request: Request, auth: GatehouseAuth) => Response.json(identity(auth));
  const routes: Record<string, (request: Request) => Promise<Response>> = {
    '/public': async () => Response.json({ public: true }),
    '/me': verifier.fetchHandler(respond),
    '/admin': verifier.fetchHandler(respond, { scope: 'admin' }),
    '/machine': verifier.fetchHandler(respond, { apiKeys: true, scope: 'agent' }),
  };
  const server = createServer(async (incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://127.0.0.1');
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers))
      if (typeof value === 'string') headers.set(name, value);
    const handler = routes[url.pathname];
    const response = handler
      ? await handler(new Request(url, { method: incoming.method ?? 'GET', headers }))
      : new Response('not found', { status: 404 });
    outgoing.writeHead(response.status, Object.fromEntries(response.headers));
    outgoing.end(Buffer.from(await response.arrayBuffer()));
  });
  const url = await listen(server);
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const frameworks = { fastify: fastifyApp, express: expressApp, 'fetch-style': fetchStyleApp };

describe.each(Object.entries(frameworks))(
  'the %s adapter guards routes as the server guards its own',
  (_name, build) => {
    let server: TestServer;
    let app: { url: string; close(): Promise<void> };
    let user: { access_token: string; user: { id: string } };
    let apiKey: { key: string; clientId: string };
    useTestServer({}, (started) => {
      server = started.server;
    });
    beforeAll(async () => {
      app = await build(createVerifier({ issuer: server.url }));
      user = await signUp(server.url);
      apiKey = await clientWithKey(server, await adminToken(server), ['agent']);
    });
    afterAll(async () => {
      await app?.close();
    });

    /** The server's own refusal of the same credential at its own protected route. */
    const serverRefusal = (token?: string) =>
      call(server.url, 'GET', '/v1/auth/me', token === undefined ? {} : { token });

    function expectSameRefusal(
      ours: Awaited<ReturnType<typeof call>>,
      theirs: Awaited<ReturnType<typeof call>>,
      code: string,
    ) {
      expect(ours.status, ours.text).toBe(theirs.status);
      expect(ours.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(ours.headers.get('www-authenticate')).toBe(theirs.headers.get('www-authenticate'));
      const { request_id: _requestId, detail: _detail, ...expected } = theirs.body as Record<string, unknown>;
      expect(ours.body).toMatchObject({ ...expected, code });
    }

    it('no credential: 401 token_missing with the bare Bearer challenge', async () => {
      expectSameRefusal(await call(app.url, 'GET', '/me'), await serverRefusal(), 'token_missing');
      expect((await call(app.url, 'GET', '/public')).body).toEqual({ public: true });
    });

    it('a tampered token: 401 token_signature_invalid, the problem body and challenge the server gives', async () => {
      const [header, payload, signature] = user.access_token.split('.');
      const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
      const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'openid admin' })).toString('base64url');
      const tampered = `${header}.${forged}.${signature}`;
      expectSameRefusal(
        await call(app.url, 'GET', '/me', { token: tampered }),
        await serverRefusal(tampered),
        'token_signature_invalid',
      );
    });

    it('a valid token reaches the handler with its claims; a missing scope is 403 insufficient_scope', async () => {
      expect((await call(app.url, 'GET', '/me', { token: user.access_token })).body).toMatchObject({
        kind: 'access_token',
        sub: user.user.id,
      });
      const admin = await call(app.url, 'GET', '/admin', { token: user.access_token });
      expect(admin.status).toBe(403);
      expect(admin.body).toMatchObject({ code: 'scope_insufficient', action: 'contact_admin' });
      expect(admin.headers.get('www-authenticate')).toBe(
        `Bearer realm="${server.url}", error="insufficient_scope", error_description="scope_insufficient"`,
      );
    });

    it('an API key where keys are accepted, checked by the server', async () => {
      expect((await call(app.url, 'GET', '/machine', { token: apiKey.key })).body).toEqual({
        kind: 'api_key',
        client: apiKey.clientId,
        scopes: ['agent'],
      });
      const foreign = `gk_00000000_${'A'.repeat(43)}`;
      const refused = await call(app.url, 'GET', '/machine', { token: foreign });
      expect(refused.status).toBe(401);
      expect(refused.body.code).toMatch(/^key_/);
      expect(refused.body.code).toBe(
        (await call(server.url, 'POST', '/v1/keys/verify', { body: { key: foreign } })).body.code,
      );
    });
  },
);
