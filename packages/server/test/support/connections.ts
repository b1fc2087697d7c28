import { Agent, type ClientRequest, request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
}

/**
 * A request on the wire: `sent` resolves once the operating system has what was written, `answer` rejects on
 * a reset.
 */
export interface SentRequest {
  sent: Promise<void>;
  answer: Promise<Answer>;
}

/** One TCP connection the server has accepted, kept open for the requests sent on it. */
export interface HeldConnection {
  send(method: string, path: string, body?: unknown): SentRequest;
  /** Sends all of the request but its last byte, which `finish` sends: begun, not yet read whole. */
  sendUnfinished(method: string, path: string, body: unknown): SentRequest & { finish(): void };
  close(): void;
}

function openRequest(url: string, method: string, agent: Agent | false, body?: unknown) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const headers = payload
    ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }
    : {};
  const outgoing = request(url, { method, agent, headers });
  const answer = new Promise<Answer>((resolve, reject) => {
    outgoing.once('error', reject);
    outgoing.once('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.once('error', reject);
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
  });
  return { outgoing, payload, answer };
}

/** Resolves once `write` has handed its bytes to the operating system, with whether the socket was reused. */
function written(outgoing: ClientRequest, write: (done: () => void) => void): Promise<boolean> {
  return new Promise((resolve, reject) => {
    outgoing.once('error', reject);
    write(() => resolve(outgoing.reusedSocket));
  });
}

/**
 * Opens a connection and has one request answered on it, which proves the server accepted it; later
 * requests go out on that same connection or fail, never silently on a new one.
 */
export async function holdConnection(baseUrl: string): Promise<HeldConnection> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const first = openRequest(`${baseUrl}/healthz`, 'GET', agent);
  await Promise.all([written(first.outgoing, (done) => first.outgoing.end(done)), first.answer]);

  const onHeldConnection = (label: string, reused: Promise<boolean>) =>
    reused.then((wasReused) => {
      if (!wasReused) throw new Error(`${label} went out on a new connection`);
    });
  return {
    send(method, path, body) {
      const { outgoing, payload, answer } = openRequest(`${baseUrl}${path}`, method, agent, body);
      const sent = written(outgoing, (done) => outgoing.end(payload, done));
      return { sent: onHeldConnection(`${method} ${path}`, sent), answer };
    },
    sendUnfinished(method, path, body) {
      const { outgoing, payload, answer } = openRequest(`${baseUrl}${path}`, method, agent, body);
      const sent = written(outgoing, (done) => outgoing.write(payload.slice(0, -1), done));
      return {
        sent: onHeldConnection(`${method} ${path}`, sent),
        answer,
        finish: () => outgoing.end(payload.slice(-1)),
      };
    },
    close: () => agent.destroy(),
  };
}

/** GET on a connection of its own; `undefined` when the connection is refused or reset. */
export async function getOnNewConnection(url: string): Promise<Answer | undefined> {
  const { outgoing, answer } = openRequest(url, 'GET', false);
  return Promise.all([written(outgoing, (done) => outgoing.end(done)), answer]).then(
    ([, answered]) => answered,
    () => undefined,
  );
}
