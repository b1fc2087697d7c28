import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import {
  generateApiKey,
  hashApiKey,
  installationTag,
  previewApiKey,
} from '../../packages/server/dist/apikeys/key-format.js';

// The server's own uuid, which has v7: the one hoisted to the repository root is an older major.
const serverRequire = createRequire(new URL('../../packages/server/package.json', import.meta.url));
const { v7: uuidv7 } = await import(pathToFileURL(serverRequire.resolve('uuid')).href);

/** Rows per INSERT: 15 columns each stays within SQLite's and PostgreSQL's limits on bound parameters. */
const BATCH_SIZE = 1000;

/**
 * Inserts `count` active keys of one new client straight into api_keys, in one transaction (over HTTP this
 * would take minutes), and returns `kept` of them in plain text, spread evenly over the insertion order.
 */
export async function seedApiKeys(gatehouse, count, kept) {
  const client = await gatehouse.clients.create({ name: 'bench fleet' });
  const tag = installationTag(gatehouse.installation.id);
  const createdAt = gatehouse.clock.now();
  const stride = Math.floor(count / kept);
  const keptKeys = [];
  await gatehouse.store.db.transaction().execute(async (trx) => {
    for (let start = 0; start < count; start += BATCH_SIZE) {
      const rows = [];
      for (let index = start; index < Math.min(start + BATCH_SIZE, count); index++) {
        const key = generateApiKey(tag);
        if (index % stride === 0 && keptKeys.length < kept) keptKeys.push(key);
        rows.push({
          id: uuidv7(),
          client_id: client.id,
          name: `agent ${index}`,
          key_hash: hashApiKey(key),
          preview: previewApiKey(key),
          scopes: '["agent"]',
          metadata: null,
          rate_limit: null,
          created_at: createdAt,
          expires_at: null,
          last_used_at: null,
          revoked_at: null,
          revoked_reason: null,
          successor_id: null,
          successor_preview: null,
        });
      }
      await trx.insertInto('api_keys').values(rows).execute();
    }
  });
  return keptKeys;
}
