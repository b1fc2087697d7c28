import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// Per-connection headers, and the ones fetch recomputes for the body it sends or has decoded.
const HOP_HEADERS = [
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
];

export type ProxyMode = 'forward' | 'storage_unavailable' | 'drop';

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A real HTTP hop in front of a Gatehouse server that a test can turn bad: it forwards, or answers what the
 * server answers when its database is gone (503 storage_unavailable with retry-after), or drops connections.
 */
export async function startSwitchableProxy() {
  let target = '';
  let mode: ProxyMode = 'forward';
  async function forward(request: IncomingMessage, response: ServerResponse) {
    const body = await readBody(request);
    const headers = Object.entries(request.headers).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string' && !HOP_HEADERS.includes(entry[0]),
    );
    const forwarded = await fetch(`${target}${request.url}`, {
      method: request.method ?? 'GET',
      headers,
      ...(body.length ? { body } : {}),
    });
    response.writeHead(
      forwarded.status,
      Object.fromEntries([...forwarded.headers].filter(([name]) => !HOP_HEADERS.includes(name))),
    );
    response.end(Buffer.from(await forwarded.arrayBuffer()));
  }

  const server: Server = createServer(async (request, response) => {
    if (mode === 'drop') {
      request.socket.destroy();
      return;
    }
    if (mode === 'storage_unavailable') {
      response.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '2' });
      response.end(
        JSON.stringify({ status: 503, code: 'storage_unavailable', detail: 'database unreachable' }),
      );
      return;
    }
    try {
      await forward(request, response);
    } catch (error) {
      // What a gateway answers when the server behind it fails mid-request (it closes at the end of a test).
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`bad gateway: ${(error as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    forwardTo(url: string) {
      target = url;
    },
    set(next: ProxyMode) {
      mode = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
