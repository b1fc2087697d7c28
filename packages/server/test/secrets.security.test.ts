import { describe, expect, it } from 'vitest';
import { adminToken } from './support/admin.js';
import { call, PASSWORD, uniqueEmail } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

// Guards the rule that a full secret (password, access token, refresh token) never reaches a log line or an event.
describe('people secrets never appear in logs or events', () => {
  let server: TestServer;
  const logLines: string[] = [];
  useTestServer({ logs: { write: (line) => logLines.push(line) } }, (started) => {
    server = started.server;
  });

  it('keeps every password and token issued out of every log line and every event', async () => {
    const secrets: string[] = [];
    const email = uniqueEmail('secretive');
    const newPassword = 'a completely different passphrase';
    secrets.push(PASSWORD, newPassword);

    const signup = await call(server.url, 'POST', '/v1/auth/signup', { body: { email, password: PASSWORD } });
    secrets.push(signup.body.access_token, signup.body.refresh_token);
    await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: 'wrong but also secret' } });
    secrets.push('wrong but also secret');
    const refreshed = await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: signup.body.refresh_token },
    });
    secrets.push(refreshed.body.access_token, refreshed.body.refresh_token);
    await call(server.url, 'GET', '/v1/auth/me', { token: `${refreshed.body.access_token.slice(0, -3)}xyz` });
    await call(server.url, 'POST', '/v1/auth/password', {
      token: refreshed.body.access_token,
      body: { current_password: PASSWORD, new_password: newPassword },
    });
    await call(server.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: `${refreshed.body.refresh_token}garbage` },
    });
    await call(server.url, 'POST', '/oauth/revoke', { form: { token: refreshed.body.refresh_token } });
    const admin = await adminToken(server);
    secrets.push(admin);
    await call(server.url, 'POST', '/v1/admin/diagnose', {
      token: admin,
      body: { token: signup.body.access_token },
    });

    const events = JSON.stringify(
      (await call(server.url, 'GET', '/v1/admin/events?limit=1000', { token: admin })).body,
    );
    expect(events).toContain('refresh');
    expect(logLines.length).toBeGreaterThan(10);
    const logs = logLines.join('\n');
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(8);
      expect(events.includes(secret), `an event holds ${secret.slice(0, 6)}…`).toBe(false);
      expect(logs.includes(secret), `a log line holds ${secret.slice(0, 6)}…`).toBe(false);
      // The secret part of a JWT is its signature; of a refresh token, everything after the prefix.
      const tail = secret.includes('.') ? secret.split('.')[2]! : secret.slice(4);
      expect(events.includes(tail) || logs.includes(tail)).toBe(false);
    }
  });
});
