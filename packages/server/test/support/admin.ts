import { call, PASSWORD, uniqueEmail } from './http.js';
import type { TestServer } from './test-server.js';

/** An admin's access token on this server (the account is created in-process, as `gatehouse admin create` does). */
export async function adminToken(server: TestServer): Promise<string> {
  const email = uniqueEmail('admin');
  await server.gatehouse.users.ensureAdmin(email, PASSWORD);
  const login = await call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
  return login.body.access_token;
}

/** A client with one API key, created through the admin API. */
export async function clientWithKey(server: TestServer, admin: string, scopes: string[] = ['agent']) {
  const client = await call(server.url, 'POST', '/v1/admin/clients', {
    token: admin,
    body: { name: `client-${Date.now()}` },
  });
  const key = await call(server.url, 'POST', `/v1/admin/clients/${client.body.id}/keys`, {
    token: admin,
    body: { name: 'fleet', scopes },
  });
  if (client.status !== 201 || key.status !== 201)
    throw new Error(`setup failed: ${client.text} ${key.text}`);
  return { clientId: client.body.id as string, keyId: key.body.id as string, key: key.body.key as string };
}
