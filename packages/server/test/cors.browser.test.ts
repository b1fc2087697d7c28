import { createServer, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.js';
import { PASSWORD, uniqueEmail } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { freePort, startTestServer, type TestServer } from './support/test-server.js';

// GATEHOUSE_CORS_ORIGINS was accepted and did nothing: a single-page app on another origin could not call
// Gatehouse (its preflight answered 404). Real pages on other origins call it here, in Chromium.

/** A blank page on its own origin (another port of 127.0.0.1), for scripts to run from. */
async function pageOrigin(): Promise<{ url: string; server: Server }> {
  const port = await freePort();
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>app</title>');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, server };
}

interface Outcome {
  ok: boolean;
  status?: number;
  body?: any;
  requestId?: string | null;
  error?: string;
}

/** Runs fetch in the page, as the app's own script would; a CORS refusal is a TypeError there. */
const fetchFrom = (page: Page, url: string, init: RequestInit) =>
  page.evaluate(
    async ([target, options]): Promise<Outcome> => {
      try {
        const response = await fetch(target, options);
        const text = await response.text();
        return {
          ok: true,
          status: response.status,
          body: text ? JSON.parse(text) : undefined,
          requestId: response.headers.get('x-request-id'),
        };
      } catch (error) {
        return { ok: false, error: String(error) };
      }
    },
    [url, init] as const,
  );

describe('a browser app on a listed origin calls Gatehouse with bearer tokens; others cannot', () => {
  let database: TestDatabase;
  let gatehouse: TestServer;
  let listed: { url: string; server: Server };
  let unlisted: { url: string; server: Server };
  let browser: Browser;
  let listedPage: Page;
  let unlistedPage: Page;

  beforeAll(async () => {
    listed = await pageOrigin();
    unlisted = await pageOrigin();
    database = await createTestDatabase();
    gatehouse = await startTestServer(database, { env: { GATEHOUSE_CORS_ORIGINS: listed.url } });
    browser = await launchChromium();
    listedPage = await browser.newPage();
    await listedPage.goto(listed.url);
    unlistedPage = await browser.newPage();
    await unlistedPage.goto(unlisted.url);
  });
  afterAll(async () => {
    await browser?.close();
    await gatehouse?.close();
    await database?.drop();
    listed?.server.close();
    unlisted?.server.close();
  });

  const json = (body: unknown): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

  it('signs up, reads /v1/auth/me with the bearer token and sees the request id, from the listed origin', async () => {
    const signedUp = await fetchFrom(
      listedPage,
      `${gatehouse.url}/v1/auth/signup`,
      json({ email: uniqueEmail('spa'), password: PASSWORD }),
    );
    expect(signedUp, signedUp.error).toMatchObject({ ok: true, status: 201 });
    const me = await fetchFrom(listedPage, `${gatehouse.url}/v1/auth/me`, {
      headers: { authorization: `Bearer ${signedUp.body.access_token}` },
    });
    expect(me).toMatchObject({ ok: true, status: 200, body: { id: signedUp.body.user.id } });
    expect(me.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await fetchFrom(listedPage, `${gatehouse.url}/v1/auth/me`, {
      headers: { authorization: 'Bearer garbage' },
    });
    expect(refused).toMatchObject({ ok: true, status: 401, body: { code: 'token_malformed' } });
  });

  it('answers the listed origin’s preflight once, cached, and never allows credentials', async () => {
    const preflight = await fetch(`${gatehouse.url}/v1/auth/me`, {
      method: 'OPTIONS',
      headers: {
        origin: listed.url,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(listed.url);
    expect(preflight.headers.get('access-control-max-age')).toBe('600');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const withCookies = await fetchFrom(listedPage, `${gatehouse.url}/v1/auth/session`, {
      credentials: 'include',
    });
    expect(withCookies.ok).toBe(false);
  });

  it('refuses an origin that is not listed: the browser blocks the call', async () => {
    const blocked = await fetchFrom(
      unlistedPage,
      `${gatehouse.url}/v1/auth/signup`,
      json({ email: uniqueEmail('other'), password: PASSWORD }),
    );
    expect(blocked.ok).toBe(false);
    expect(blocked.error).toContain('TypeError');
  });

  it('lets any origin read the public discovery document and JWKS', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/jwks.json']) {
      const document = await fetchFrom(unlistedPage, `${gatehouse.url}${path}`, {});
      expect(document, path).toMatchObject({ ok: true, status: 200 });
    }
  });
});
