import { describe, expect, it } from 'vitest';
import { createVerifier } from '../src/index.js';

// A misconfigured verifier must fail where it is created, naming the option, not at the first request.

describe('createVerifier refuses wrong options at once, naming them', () => {
  const cases: [string, Parameters<typeof createVerifier>[0], RegExp][] = [
    ['no issuer', { issuer: undefined as unknown as string }, /issuer must be the Gatehouse public URL/],
    ['an issuer that is not a URL', { issuer: 'auth.example.com' }, /issuer must be/],
    ['an empty audience list', { issuer: 'https://auth.example.com', audience: [] }, /audience/],
    [
      'an algorithm Gatehouse never signs with',
      { issuer: 'https://auth.example.com', algorithms: ['HS256' as 'EdDSA'] },
      /algorithms must be some of EdDSA, ES256/,
    ],
    [
      'a negative cooldown',
      { issuer: 'https://auth.example.com', jwksCooldownSeconds: -1 },
      /jwksCooldownSeconds/,
    ],
    [
      'a cache of no entries',
      { issuer: 'https://auth.example.com', tokenCache: { maxEntries: 0 } },
      /tokenCache\.maxEntries/,
    ],
  ];
  for (const [name, options, message] of cases) {
    it(name, () => {
      expect(() => createVerifier(options)).toThrow(message);
    });
  }

  it('an empty or missing token is token_missing without any request', async () => {
    let requests = 0;
    const verifier = createVerifier({
      issuer: 'https://auth.example.com',
      fetch: async () => {
        requests++;
        return new Response('{}');
      },
    });
    expect(await verifier.verify('')).toMatchObject({ ok: false, code: 'token_missing', status: 401 });
    expect(requests).toBe(0);
  });
});
