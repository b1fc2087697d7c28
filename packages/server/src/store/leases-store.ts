import type { Kysely } from 'kysely';
import { insertIfAbsent } from './dialect.js';
import type { Database } from './schema.js';

/**
 * Takes the named lease for `holder` until `until` if it is free, expired or already this holder's.
 * One conditional UPDATE decides between racing instances; the INSERT only creates the row the first time.
 */
export async function tryTakeLease(
  db: Kysely<Database>,
  lease: { name: string; holder: string; now: number; until: number },
): Promise<boolean> {
  await insertIfAbsent(
    db,
    db.insertInto('leases').values({ name: lease.name, holder: lease.holder, until: 0 }),
  );
  const result = await db
    .updateTable('leases')
    .set({ holder: lease.holder, until: lease.until })
    .where('name', '=', lease.name)
    .where((where) => where.or([where('until', '<', lease.now), where('holder', '=', lease.holder)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
