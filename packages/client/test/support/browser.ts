import { createServer, request as forward, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export { launchChromium } from '../../../server/test/support/chromium.js';

import { createTestDatabase, type TestDatabase } from '../../../server/test/support/test-database.js';
import { freePort, startTestServer, type TestServer } from '../../../server/test/support/test-server.js';

/** The client as a browser loads it: bundled from source with its one dependency, @gatehouse/codes. */
export async function bundleClient(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../src/index.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  return result.outputFiles[0]!.text;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>gatehouse client test</title>
<script type="module">import * as gatehouse from '/client.js'; window.gatehouse = gatehouse; window.ready = true;</script>`;
const GATEHOUSE_PATHS = /^\/(v1|oauth|\.well-known)\//;

/**
 * One origin for the page and the API, as a browser app behind a reverse proxy sees it: `/` is a test page
 * that loads the client, `/v1`, `/oauth` and `/.well-known` go to a real Gatehouse. The proxy counts the
 * refresh requests that reach the server.
 */
export interface SameOriginSite {
  url: string;
  server: TestServer;
  database: TestDatabase;
  refreshRequests(): number;
  close(): Promise<void>;
}

export async function startSameOriginSite(env: Record<string, string> = {}): Promise<SameOriginSite> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const database = await createTestDatabase();
  // The public URL is the page's origin: cookie-mode CSRF checks compare Origin with it.
  const server = await startTestServer(database, { env: { GATEHOUSE_PUBLIC_URL: url, ...env } });
  const upstream = new URL(server.url);
  const script = await bundleClient();
  let refreshes = 0;
  const site: Server = createServer((incoming, outgoing) => {
    const path = incoming.url ?? '/';
    if (path === '/client.js') {
      outgoing.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      return;
    }
    if (!GATEHOUSE_PATHS.test(path)) {
      outgoing.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    if (incoming.method === 'POST' && path === '/oauth/token') refreshes += 1;
    const proxied = forward(
      {
        host: upstream.hostname,
        port: upstream.port,
        path,
        method: incoming.method,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    proxied.on('error', () => outgoing.writeHead(502).end());
    incoming.pipe(proxied);
  });
  await new Promise<void>((resolve) => site.listen(port, '127.0.0.1', resolve));
  return {
    url,
    server,
    database,
    refreshRequests: () => refreshes,
    async close() {
      site.closeAllConnections();
      await new Promise((resolve) => site.close(resolve));
      await server.close();
      await database.drop();
    },
  };
}
