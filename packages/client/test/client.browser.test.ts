import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../../server/test/support/http.js';
import { launchChromium, type SameOriginSite, startSameOriginSite } from './support/browser.js';
import { sleep } from './support/client.js';

declare global {
  interface Window {
    gatehouse: typeof import('../src/index.js');
    ready: boolean;
    client: import('../src/index.js').GatehouseClient;
    events: import('../src/index.js').AuthChangeEvent[];
  }
}

/** Opens the site in a new tab of the shared browser context and creates a client there. */
async function openTab(open: () => Promise<Page>, url: string, storage: 'local' | 'cookie'): Promise<Page> {
  const page = await open();
  await page.goto(url);
  await page.waitForFunction(() => window.ready);
  await page.evaluate((kind) => {
    const { createGatehouseClient, localStorageStorage, cookieStorage } = window.gatehouse;
    window.client = createGatehouseClient({
      baseUrl: location.origin,
      storage: kind === 'local' ? localStorageStorage() : cookieStorage(),
      autoRefresh: false,
      retry: { baseDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 10_000 },
    });
    window.events = [];
    window.client.onAuthStateChange((event) => window.events.push(event));
  }, storage);
  return page;
}

describe('in Chromium', () => {
  let browser: Browser;
  let site: SameOriginSite;
  beforeAll(async () => {
    browser = await launchChromium();
    site = await startSameOriginSite({ GATEHOUSE_ACCESS_TOKEN_TTL: '4', GATEHOUSE_CLOCK_SKEW_SECONDS: '0' });
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('five tabs with an expired access token make exactly one refresh request, and every tab continues', async () => {
    const context = await browser.newContext();
    const open = () => context.newPage();
    const first = await openTab(open, site.url, 'local');
    const email = uniqueEmail('tabs');
    await first.evaluate(
      ([email, password]) => window.client.signUp({ email: email!, password: password! }),
      [email, PASSWORD],
    );
    const others = await Promise.all([1, 2, 3, 4].map(() => openTab(open, site.url, 'local')));
    const tabs = [first, ...others];
    await sleep(4500);
    expect(site.refreshRequests()).toBe(0);

    const statuses = await Promise.all(
      tabs.map((tab) =>
        tab.evaluate(() => window.client.fetch('/v1/auth/me').then((answer) => answer.status)),
      ),
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(site.refreshRequests()).toBe(1);
    const tokens = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.client.getAccessToken())));
    expect(new Set(tokens).size).toBe(1);
    for (const tab of tabs) {
      expect(await tab.evaluate(() => window.events.map((event) => event.type))).toContain('refreshed');
    }

    // Signing out in one tab ends the session in all of them, each with one event.
    await first.evaluate(() => window.client.signOut());
    await expect
      .poll(() => Promise.all(others.map((tab) => tab.evaluate(() => window.events.at(-1)?.type))))
      .toEqual(['signed_out', 'signed_out', 'signed_out', 'signed_out']);
    for (const tab of tabs) {
      const events = await tab.evaluate(() => window.events);
      expect(events.filter((event) => event.type === 'signed_out')).toEqual([{ type: 'signed_out' }]);
      expect(await tab.evaluate(() => window.client.getSession())).toBeNull();
    }
    await context.close();
  }, 60_000);

  it('cookie mode: the session is an HttpOnly cookie and the CSRF header is handled for the caller', async () => {
    const context = await browser.newContext();
    const open = () => context.newPage();
    const tab = await openTab(open, site.url, 'cookie');
    const email = uniqueEmail('cookie');
    await tab.evaluate(
      ([email, password]) => window.client.signUp({ email: email!, password: password! }),
      [email, PASSWORD],
    );
    expect(await tab.evaluate(() => document.cookie)).toBe('');
    expect(await tab.evaluate(() => window.client.getAccessToken())).toBeNull();

    const write = () =>
      tab.evaluate(() =>
        window.client.fetch('/v1/auth/mfa/totp/enroll', { method: 'POST' }).then((answer) => answer.status),
      );
    expect(await write()).toBe(200);
    const bare = await tab.evaluate(() =>
      fetch('/v1/auth/mfa/totp/enroll', { method: 'POST' }).then(async (answer) => [
        answer.status,
        (await answer.json()).code,
      ]),
    );
    expect(bare).toEqual([403, 'csrf_missing']);

    // After a reload the page has no CSRF token until the client asks the session for it.
    const reloaded = await openTab(open, site.url, 'cookie');
    expect(
      await reloaded.evaluate(() => window.client.getSession().then((session) => session?.user?.email)),
    ).toBe(email);
    expect(
      await reloaded.evaluate(() =>
        window.client.fetch('/v1/auth/mfa/totp/enroll', { method: 'POST' }).then((answer) => answer.status),
      ),
    ).toBe(200);

    await reloaded.evaluate(() => window.client.signOut());
    expect(await reloaded.evaluate(() => window.events)).toEqual([{ type: 'signed_out' }]);
    const after = await tab.evaluate(() => fetch('/v1/auth/session').then((answer) => answer.status));
    expect(after).toBe(401);
    await context.close();
  }, 60_000);
});
