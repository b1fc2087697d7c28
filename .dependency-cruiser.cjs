/** Layering of the server (docs/architecture.md): HTTP route → service → store. */
const SRC = '^packages/server/src/';

/** Store modules every domain may use: the schema's types, the database handle and its errors. */
const SHARED_STORE_MODULES = ['schema', 'database', 'storage-errors'];

/**
 * The store modules each domain folder owns. A domain reads and writes only these; another domain's data it
 * asks of that domain's service. Installation-wide modules (migrations, ping, pooler) belong to the folders
 * that check the installation.
 */
const STORE_MODULES_OF = {
  agents: ['agents-store'],
  apikeys: ['api-keys-store'],
  clients: ['clients-store'],
  doctor: ['installation-store', 'migrate', 'ping', 'pooler'],
  events: ['events-store'],
  fleet: ['cache-changes-store', 'leases-store', 'rate-limits-store'],
  health: ['ping'],
  keyring: ['signing-keys-store'],
  mfa: ['mfa-store'],
  sessions: ['sessions-store', 'refresh-tokens-store'],
  users: ['users-store', 'login-throttles-store'],
  vault: ['vault-connections-store', 'vault-refreshes-store'],
};

const storeModules = (names) => `${SRC}store/(${names.join('|')})\\.ts$`;

const ownStoreOnly = Object.entries(STORE_MODULES_OF).map(([domain, modules]) => ({
  name: `own-store-only:${domain}`,
  comment: `${domain}/ uses only its own store modules (${modules.join(', ')}); other data through their services.`,
  severity: 'error',
  from: { path: `${SRC}${domain}/` },
  to: { path: `${SRC}store/`, pathNot: storeModules([...SHARED_STORE_MODULES, ...modules]) },
}));

module.exports = {
  forbidden: [
    {
      name: 'domain-never-imports-http',
      comment: 'Domain code decides; it never knows about Fastify or the HTTP layer.',
      severity: 'error',
      from: { path: `${SRC}(?!http|cli|gatehouse\\.ts|index\\.ts)[^/]+/` },
      to: { path: [`${SRC}http/`, 'node_modules/fastify', 'node_modules/@fastify/'] },
    },
    {
      name: 'routes-never-reach-the-store',
      comment: 'Routes and commands translate requests to service calls; SQL stays behind the services.',
      severity: 'error',
      from: { path: `${SRC}(http|cli)/` },
      to: {
        path: [`${SRC}store/`, 'node_modules/kysely', 'node_modules/pg', 'node_modules/better-sqlite3'],
      },
    },
    {
      name: 'store-imports-no-domain-or-http',
      comment: 'The store knows rows and SQL, not decisions or requests.',
      severity: 'error',
      from: { path: `${SRC}store/` },
      to: {
        path: SRC,
        pathNot: [`${SRC}store/`, `${SRC}errors/`, `${SRC}clock\\.ts$`],
      },
    },
    {
      name: 'only-the-openers-import-gatehouse',
      comment:
        'gatehouse.ts wires everything once; only what opens it imports it (cli/context.ts for the commands, ' +
        'cli/start.ts for the server). Routes and commands receive the services they use, never the whole.',
      severity: 'error',
      from: { path: SRC, pathNot: [`${SRC}cli/context\\.ts$`, `${SRC}cli/start\\.ts$`] },
      to: { path: `${SRC}gatehouse\\.ts$` },
    },
    {
      name: 'master-key-stays-in-the-wiring',
      comment:
        'Only gatehouse.ts loads the master key and hands each service its own subkey. ' +
        'cli/master-key.ts prints a new random key; it loads none.',
      severity: 'error',
      from: { path: SRC, pathNot: [`${SRC}gatehouse\\.ts$`, `${SRC}cli/master-key\\.ts$`] },
      to: { path: `${SRC}secrets/master-key\\.ts$` },
    },
    ...ownStoreOnly,
    {
      name: 'own-store-only:others',
      comment: 'A folder that owns no table uses no store module but the shared ones.',
      severity: 'error',
      from: {
        path: SRC,
        pathNot: [
          `${SRC}(store|http|cli)/`,
          `${SRC}gatehouse\\.ts$`,
          ...Object.keys(STORE_MODULES_OF).map((domain) => `${SRC}${domain}/`),
        ],
      },
      to: { path: `${SRC}store/`, pathNot: storeModules(SHARED_STORE_MODULES) },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment:
        'Folders depend one way: a domain that needs to tell another (a cache to forget, say) declares the ' +
        'narrow interface it calls, and the wiring hands it the other.',
      severity: 'error',
      scope: 'folder',
      from: { path: SRC },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
