import { describe, expect, it } from 'vitest';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

// Guards account enumeration by timing: every refusal spends one password verification.
describe('unknown email, wrong password and locked account take the same time', () => {
  let server: TestServer;
  useTestServer(
    {
      env: { GATEHOUSE_LOGIN_RATE_LIMIT: '0', GATEHOUSE_LOCKOUT_THRESHOLD: '3' },
    },
    (started) => {
      server = started.server;
    },
  );

  it('has medians within 0.75–1.33 of each other over 40 interleaved logins each', async () => {
    const wrongEmail = uniqueEmail('present');
    const lockedEmail = uniqueEmail('locked');
    await signUp(server.url, wrongEmail);
    await signUp(server.url, lockedEmail);
    const timed = async (email: string, password: string) => {
      const started = performance.now();
      const reply = await call(server.url, 'POST', '/v1/auth/login', { body: { email, password } });
      expect(reply.status).toBe(401);
      return performance.now() - started;
    };
    // Twelve failures over a threshold of three: a lock of 2^9 s, longer than the test.
    for (let i = 0; i < 12; i++) await timed(lockedEmail, 'wrong to lock');

    const samples = { unknown: [] as number[], wrong: [] as number[], locked: [] as number[] };
    for (let i = 0; i < 40; i++) {
      samples.unknown.push(await timed(uniqueEmail('nobody'), 'any password'));
      samples.locked.push(await timed(lockedEmail, PASSWORD));
      samples.wrong.push(await timed(wrongEmail, `wrong ${i}`));
    }
    const medians = Object.values(samples).map(median);
    const ratio = Math.max(...medians) / Math.min(...medians);
    console.log(
      `login medians (ms): unknown ${medians[0]!.toFixed(1)}, wrong ${medians[1]!.toFixed(1)}, locked ${medians[2]!.toFixed(1)}; ratio ${ratio.toFixed(3)}`,
    );
    expect(ratio, `medians ${medians.map((m) => m.toFixed(1)).join(' / ')} ms`).toBeLessThan(1.33);
  });
});

describe('a login storm', () => {
  let server: TestServer;
  useTestServer(
    {
      env: {
        GATEHOUSE_LOGIN_RATE_LIMIT: '0',
        GATEHOUSE_PASSWORD_HASH_QUEUE: '40',
        GATEHOUSE_LOCKOUT_THRESHOLD: '1000',
      },
    },
    (started) => {
      server = started.server;
    },
  );

  it('answers 200 simultaneous logins with 200/401 or 503 overloaded (never 5xx otherwise), keeping /healthz responsive', async () => {
    const email = uniqueEmail('popular');
    await signUp(server.url, email);
    const healthLatencies: number[] = [];
    let storming = true;
    const probe = (async () => {
      while (storming) {
        const started = performance.now();
        await call(server.url, 'GET', '/healthz');
        healthLatencies.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        call(server.url, 'POST', '/v1/auth/login', { body: { email, password: i % 2 ? PASSWORD : 'wrong' } }),
      ),
    );
    storming = false;
    await probe;
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.every((status) => [200, 401, 503].includes(status))).toBe(true);
    const overloaded = replies.filter((reply) => reply.status === 503);
    expect(overloaded.length).toBeGreaterThan(0);
    for (const reply of overloaded) {
      expect(reply.body.code).toBe('overloaded');
      expect(reply.headers.get('retry-after')).toBeTruthy();
    }
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    expect(healthLatencies.length).toBeGreaterThan(3);
    expect(median(healthLatencies)).toBeLessThan(50);
  });
});
