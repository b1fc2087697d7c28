import { describe, expect, it } from 'vitest';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

describe('login failures tell an attacker nothing', () => {
  let server: TestServer;
  useTestServer({}, (started) => {
    server = started.server;
  });

  it('gives a wrong password and an unknown email the same status, body and code', async () => {
    const email = uniqueEmail();
    await signUp(server.url, email);
    const wrongPassword = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email, password: 'not the password' },
    });
    const unknownEmail = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email: uniqueEmail('ghost'), password: 'not the password' },
    });
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    const { request_id: _a, ...wrongBody } = wrongPassword.body;
    const { request_id: _b, ...unknownBody } = unknownEmail.body;
    expect(wrongBody).toEqual(unknownBody);
    expect(wrongBody.code).toBe('invalid_credentials');
    expect(wrongPassword.headers.get('content-type')).toBe(unknownEmail.headers.get('content-type'));
  });

  it('accepts the email in any case, spacing or Unicode width', async () => {
    const email = uniqueEmail('Case');
    await signUp(server.url, email);
    const variant = `  ${email.toUpperCase().replace('@', '＠')} `;
    const login = await call(server.url, 'POST', '/v1/auth/login', {
      body: { email: variant, password: PASSWORD },
    });
    expect(login.status).toBe(200);
    expect(login.body.user.email).toBe(email.toLowerCase());
  });
});
