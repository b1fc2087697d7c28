import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKey } from '../src/secrets/master-key.js';
import { gatehouseCli } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startTestServer } from './support/test-server.js';

// Guards the incident where a new secret at start silently invalidated every token.
describe('a master key that does not belong to the database', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('stops the start with one line naming both fingerprints, and leaves the keys untouched', async () => {
    const original = generateMasterKey();
    const server = await startTestServer(database, { env: { GATEHOUSE_MASTER_KEY: original } });
    const jwks = server.gatehouse.keyring.jwksJson();
    const fingerprint = server.gatehouse.masterKey.fingerprint;
    await server.close();

    const refused = await gatehouseCli(['keys', 'list'], {
      ...server.env,
      GATEHOUSE_MASTER_KEY: generateMasterKey(),
      GATEHOUSE_LOG_LEVEL: 'silent',
    });
    expect(refused.code).not.toBe(0);
    const lines = refused.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Master key mismatch/);
    expect(lines[0]).toContain(fingerprint);
    expect(lines[0]?.match(/mk_[0-9a-f]{16}/g)).toHaveLength(2);

    const again = await startTestServer(database, { env: { GATEHOUSE_MASTER_KEY: original } });
    expect(again.gatehouse.keyring.jwksJson()).toBe(jwks);
    await again.close();
  });
});
