import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import type { Agents } from '../agents/agents.js';
import type { ApiKeys } from '../apikeys/api-keys.js';
import type { MachineTokens } from '../apikeys/machine-tokens.js';
import type { Clients } from '../clients/clients.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { TokenDoctor } from '../doctor/diagnose-token.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Events } from '../events/events.js';
import type { RateCounter } from '../fleet/rate-counter.js';
import type { Readiness } from '../health/readiness.js';
import type { Keyring } from '../keyring/keyring.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Mfa } from '../mfa/mfa.js';
import type { Sessions } from '../sessions/sessions.js';
import type { SignIn } from '../sessions/sign-in.js';
import type { Users } from '../users/users.js';
import type { Vault } from '../vault/vault.js';
import { guardDeps } from './bearer.js';
import { allowListedOrigins } from './cors.js';
import { lazyChildLogger } from './lazy-child-logger.js';
import { problemBody, sendProblem, toGatehouseError } from './problem.js';
import { adminClientRoutes } from './routes/admin-clients.js';
import { adminDiagnoseRoutes } from './routes/admin-diagnose.js';
import { adminEventRoutes } from './routes/admin-events.js';
import { adminUserRoutes } from './routes/admin-users.js';
import { authRoutes } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { machineRoutes } from './routes/machines.js';
import { mfaRoutes } from './routes/mfa.js';
import { oauthRoutes } from './routes/oauth.js';
import { vaultRoutes } from './routes/vault.js';
import { vaultAdminRoutes } from './routes/vault-admin.js';
import { wellKnownRoutes } from './routes/well-known.js';
import { ProblemSchema, UserSchema } from './schemas.js';
import { staticDocuments } from './static-documents.js';
import type { App } from './types.js';
import { describeValidationErrors } from './validation-errors.js';

const REQUEST_ID_SHAPE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Large enough for any real token, small enough that header floods are cheap to refuse. */
const MAX_HEADER_BYTES = 128 * 1024;

/**
 * What the HTTP layer serves from: the services its routes call and what the server itself needs. An open
 * Gatehouse has all of it; its store and master key are not part of it.
 */
export interface AppDeps {
  config: Readonly<Config>;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  keyring: Keyring;
  rateCounter: RateCounter;
  users: Users;
  sessions: Sessions;
  signIn: SignIn;
  mfa: Mfa;
  events: Events;
  clients: Clients;
  apiKeys: ApiKeys;
  agents: Agents;
  machineTokens: MachineTokens;
  tokenDoctor: TokenDoctor;
  vault: Vault;
  readiness: () => Promise<Readiness>;
  isDraining: () => boolean;
}

/** A hop count believes that many proxies in front of us; CIDR lists and false pass through unchanged. */
function trustProxyOption(setting: Config['trustProxy']) {
  return typeof setting === 'number' ? (_address: string, hop: number) => hop < setting : setting;
}

const REQUEST_ID = Symbol('gatehouse.requestId');
type IdentifiedRequest = IncomingMessage & { [REQUEST_ID]?: string };

/**
 * Every response carries x-request-id: set on the raw response before Fastify runs, so it is there for
 * every answer (even ones Fastify writes itself) without a hook on every request. A well-formed incoming
 * id is kept, so a request can be followed across proxies.
 */
function assignRequestId(request: IdentifiedRequest): string {
  const incoming = incomingRequestId(request.rawHeaders);
  const id = incoming !== undefined && REQUEST_ID_SHAPE.test(incoming) ? incoming : uuidv7();
  request[REQUEST_ID] = id;
  return id;
}

/**
 * The first x-request-id among the raw header lines. Node builds `request.headers` on first use, at a cost
 * that the JWKS and discovery documents (answered before Fastify, which reads them) would otherwise pay on
 * every request for this one header.
 */
function incomingRequestId(rawHeaders: string[]): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 12 && name.toLowerCase() === 'x-request-id') return rawHeaders[i + 1];
  }
  return undefined;
}

/** Node refuses a request it cannot parse before Fastify sees it; the answer still has our shape and a request id. */
function answerUnparseableRequest(error: Error, socket: Socket): void {
  const code =
    (error as NodeJS.ErrnoException).code === 'HPE_HEADER_OVERFLOW'
      ? 'headers_too_large'
      : 'validation_failed';
  const requestId = uuidv7();
  const body = JSON.stringify(problemBody(new GatehouseError(code, { detail: error.message }), requestId));
  const status = code === 'headers_too_large' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  if (!socket.writable) return;
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/problem+json\r\nx-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, logger, metrics } = deps;
  const answerStaticDocument = staticDocuments(deps);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (_logger, bindings) => lazyChildLogger(logger, bindings),
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: 64 * 1024,
    // While closing, requests on open connections are still answered (a 503 would be a failure the
    // client sees); new connections are refused, which a retrying client takes to another instance.
    return503OnClosing: false,
    serverFactory: (handler) =>
      createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (request, response) => {
        response.setHeader('x-request-id', assignRequestId(request));
        // A draining instance closes each connection after its response, so no client is left holding an
        // idle keep-alive connection when the listener closes (its next request would meet a reset).
        if (deps.isDraining()) response.setHeader('connection', 'close');
        if (answerStaticDocument(request, response)) return;
        handler(request, response);
      }),
    requestIdHeader: false,
    genReqId: (request) => (request as IdentifiedRequest)[REQUEST_ID] ?? uuidv7(),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
    schemaErrorFormatter: describeValidationErrors,
    clientErrorHandler: answerUnparseableRequest,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Only JSON (and forms, on /oauth): a text/plain body is refused as 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  app.decorateRequest('machine', null);
  app.decorateRequest('heartbeat', null);
  app.decorateRequest('actorId', null);
  app.decorateRequest('cookieSession', false);
  // One callback-style hook (an async hook costs a promise on every request): time it, and log it at info.
  const logRequests = logger.isLevelEnabled('info');
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (logRequests) {
      request.log.info(
        { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
    }
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const failure = toGatehouseError(error);
    if (failure.status >= 500 && failure.code !== 'storage_unavailable')
      request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, request, failure);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      request,
      new GatehouseError('not_found', { detail: `${request.method} ${request.url.split('?')[0]}` }),
    ),
  );

  await allowListedOrigins(app, config.corsOrigins);
  app.addSchema(ProblemSchema);
  app.addSchema(UserSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        version: '1',
        description: 'Authentication server: every rejection has a reason code.',
      },
      servers: [{ url: config.issuer }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          clientSecretBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'An API key as the client secret, its client id as the user name (RFC 6749 §2.3.1)',
          },
        },
      },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await registerRoutes(app, deps);
  return app;
}

/** Each route plugin gets the services it calls, and the guards built once for all of them. */
async function registerRoutes(app: App, deps: AppDeps): Promise<void> {
  const { config, sessions, signIn, users, apiKeys, agents, events, vault, rateCounter } = deps;
  const guards = guardDeps(deps);
  await app.register(healthRoutes, { readiness: deps.readiness, metrics: deps.metrics });
  await app.register(wellKnownRoutes, { keyring: deps.keyring, config });
  await app.register(authRoutes, { sessions, signIn, guards, rateCounter, config });
  await app.register(mfaRoutes, { mfa: deps.mfa, signIn, sessions, guards, rateCounter, config });
  await app.register(oauthRoutes, {
    sessions,
    apiKeys,
    users,
    machineTokens: deps.machineTokens,
    signIn,
    guards,
    rateCounter,
    config,
  });
  await app.register(adminUserRoutes, { users, sessions, guards });
  await app.register(adminClientRoutes, { clients: deps.clients, apiKeys, agents, guards });
  await app.register(adminEventRoutes, { events, clock: deps.clock, guards });
  await app.register(adminDiagnoseRoutes, { tokenDoctor: deps.tokenDoctor, events, guards });
  await app.register(machineRoutes, { apiKeys, agents, guards, rateCounter, config });
  await app.register(vaultAdminRoutes, { vault, guards });
  await app.register(vaultRoutes, { vault, guards });
}
