/** Layering of the server (DESIGN.md "Architecture"): HTTP route → service → store. */
module.exports = {
  forbidden: [
    {
      name: 'domain-never-imports-http',
      comment: 'Domain code decides; it never knows about Fastify or the HTTP layer.',
      severity: 'error',
      from: { path: '^packages/server/src/(?!http|cli|gatehouse\\.ts|index\\.ts)[^/]+/' },
      to: { path: ['^packages/server/src/http/', 'node_modules/fastify', 'node_modules/@fastify/'] },
    },
    {
      name: 'routes-never-reach-the-store',
      comment: 'Routes translate HTTP to service calls; SQL stays behind the services.',
      severity: 'error',
      from: { path: '^packages/server/src/http/' },
      to: {
        path: [
          '^packages/server/src/store/',
          'node_modules/kysely',
          'node_modules/pg',
          'node_modules/better-sqlite3',
        ],
      },
    },
    {
      name: 'store-imports-no-domain-or-http',
      comment: 'The store knows rows and SQL, not decisions or requests.',
      severity: 'error',
      from: { path: '^packages/server/src/store/' },
      to: {
        path: '^packages/server/src/',
        pathNot: [
          '^packages/server/src/store/',
          '^packages/server/src/errors/',
          '^packages/server/src/clock\\.ts$',
        ],
      },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
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
