import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../../server/test/support/http.js';
import { freePort } from '../../server/test/support/test-server.js';
import { launchChromium } from './support/browser.js';

const exampleServer = fileURLToPath(new URL('../../../examples/web-app/server.js', import.meta.url));

/** `node examples/web-app/server.js`, as its README runs it, on free ports and a fresh data directory. */
async function runExample(): Promise<{ url: string; process: ChildProcess; dataDir: string }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-example-'));
  const port = await freePort();
  const child = spawn(process.execPath, [exampleServer], {
    env: {
      ...process.env,
      PORT: String(port),
      GATEHOUSE_PORT: String(await freePort()),
      GATEHOUSE_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout!) {
    output += chunk;
    if (output.includes('Example app on')) break;
  }
  if (!output.includes('Example app on')) throw new Error(`the example did not start: ${output}`);
  return { url: `http://127.0.0.1:${port}`, process: child, dataDir };
}

describe('examples/web-app in Chromium', () => {
  let browser: Browser;
  let example: Awaited<ReturnType<typeof runExample>>;
  beforeAll(async () => {
    browser = await launchChromium();
    example = await runExample();
  });
  afterAll(async () => {
    await browser?.close();
    if (example) {
      example.process.kill('SIGTERM');
      if (example.process.exitCode === null) await once(example.process, 'exit');
      await rm(example.dataDir, { recursive: true, force: true });
    }
  });

  it('signs up, reads the API, and stays signed in while Gatehouse restarts', async () => {
    const page = await browser.newPage();
    await page.goto(example.url);
    const status = page.locator('#status');
    await expect.poll(() => status.textContent()).toContain('Signed out');

    const email = uniqueEmail('example');
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[value=sign-up]');
    await expect.poll(() => status.textContent()).toBe(`Signed in as ${email} — all good`);
    expect(await page.locator('#notes li').first().textContent()).toContain('Checked by the API');

    // The incident: the auth server restarts while the page polls it.
    await page.click('#restart');
    await expect
      .poll(() => status.textContent(), { timeout: 15_000 })
      .toMatch(/^Server restarting — retrying .*, still signed in$/);
    await expect
      .poll(() => status.textContent(), { timeout: 30_000 })
      .toBe(`Signed in as ${email} — all good`);
    const events = await page.locator('#log li').allTextContents();
    expect(events.some((event) => event.includes('signed_out'))).toBe(false);

    await page.click('#sign-out');
    await expect.poll(() => status.textContent()).toBe('Signed out');
    await page.close();
  }, 90_000);
});
