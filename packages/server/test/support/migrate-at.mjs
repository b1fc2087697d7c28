// Opens the store for the database URL in argv[2], waits until the epoch ms in argv[3], then migrates and
// prints the migrations it applied: several of these started together race for real, across processes.
import { loadConfig } from '../../dist/config/load-config.js';
import { openStore } from '../../dist/store/database.js';
import { migrateToLatest } from '../../dist/store/migrate.js';
import { pingDatabase } from '../../dist/store/ping.js';

const [url, startAt] = process.argv.slice(2);
const { database } = loadConfig({ env: { GATEHOUSE_DATABASE_URL: url }, cwd: process.cwd() });
const store = openStore(database, () => {});
await pingDatabase(store.db);
await new Promise((resolve) => setTimeout(resolve, Number(startAt) - Date.now()));
const applied = await migrateToLatest(store.db, store.dialect);
await store.close();
process.stdout.write(JSON.stringify(applied));
