import { describe, expect, it } from 'vitest';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

/** /healthz round trips, one every 20 ms, for as long as `more` says (given how many were taken). */
async function healthLatencies(url: string, more: (taken: number) => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (more(latencies.length)) {
    const started = performance.now();
    await call(url, 'GET', '/healthz');
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return latencies;
}

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

  it('has each within 0.75–1.33 of the others: the median ratio over 40 rounds of one login each', async () => {
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

    const rounds: Record<'unknown' | 'locked' | 'wrong', number>[] = [];
    for (let i = 0; i < 40; i++) {
      rounds.push({
        unknown: await timed(uniqueEmail('nobody'), 'any password'),
        locked: await timed(lockedEmail, PASSWORD),
        wrong: await timed(wrongEmail, `wrong ${i}`),
      });
    }
    // Each login is compared with the others of its own round, milliseconds apart, so load on the machine
    // that comes and goes slows both sides of a ratio alike.
    const pairs = [
      ['unknown', 'wrong'],
      ['locked', 'wrong'],
      ['unknown', 'locked'],
    ] as const;
    const ratios = pairs.map(([a, b]) => ({
      label: `${a} / ${b}`,
      ratio: median(rounds.map((round) => round[a] / round[b])),
    }));
    console.log(
      `login time ratios: ${ratios.map(({ label, ratio }) => `${label} ${ratio.toFixed(3)}`).join(', ')}`,
    );
    for (const { label, ratio } of ratios) {
      expect(ratio, label).toBeGreaterThan(0.75);
      expect(ratio, label).toBeLessThan(1.33);
    }
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

  it('answers 200 simultaneous logins with 200/401 or 503 overloaded (never 5xx otherwise), keeping the /healthz median within 10× of its median at rest', async () => {
    const email = uniqueEmail('popular');
    await signUp(server.url, email);
    const before = await healthLatencies(server.url, (taken) => taken < 20);
    let storming = true;
    const duringStorm = healthLatencies(server.url, () => storming);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        call(server.url, 'POST', '/v1/auth/login', { body: { email, password: i % 2 ? PASSWORD : 'wrong' } }),
      ),
    );
    storming = false;
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.every((status) => [200, 401, 503].includes(status))).toBe(true);
    const overloaded = replies.filter((reply) => reply.status === 503);
    expect(overloaded.length).toBeGreaterThan(0);
    for (const reply of overloaded) {
      expect(reply.body.code).toBe('overloaded');
      expect(reply.headers.get('retry-after')).toBeTruthy();
    }
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);

    // Compared with the same probe at rest, before and after the storm on the same machine, so a busy machine
    // slows both alike; hashing on the event loop instead of beside it puts the storm's median at about 15
    // times the rest's.
    const storm = await duringStorm;
    const atRest = [...before, ...(await healthLatencies(server.url, (taken) => taken < 20))];
    expect(storm.length).toBeGreaterThan(3);
    const ratio = median(storm) / median(atRest);
    console.log(
      `/healthz medians (ms): at rest ${median(atRest).toFixed(2)}, during the storm ${median(storm).toFixed(2)}; ratio ${ratio.toFixed(2)}`,
    );
    expect(ratio, `${median(storm).toFixed(2)} / ${median(atRest).toFixed(2)} ms`).toBeLessThan(10);
  });
});
