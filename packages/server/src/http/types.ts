import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { HeartbeatPass, KeyPrincipal } from '../agents/agents.js';
import type { Principal } from '../sessions/sessions.js';

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, on routes guarded by a user token. */
    principal: Principal | null;
    /** The machine, on routes guarded by an API key. */
    machine: KeyPrincipal | null;
    /** The agent a heartbeat's key was accepted for, on the heartbeat route. */
    heartbeat: HeartbeatPass | null;
    /** True when the user was authenticated by the browser session cookie. */
    cookieSession: boolean;
    /** Who acts: the user id or the API key id, for events of administrative actions. */
    actorId: string | null;
  }
}
