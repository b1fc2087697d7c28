import { Type } from '@sinclair/typebox';
import { CREDENTIAL_KINDS, type TokenDoctor } from '../../doctor/diagnose-token.js';
import type { Events } from '../../events/events.js';
import { type GuardDeps, requireAdmin } from '../bearer.js';
import { actorOf } from '../context.js';
import { IsoTime, responses } from '../schemas.js';
import type { App } from '../types.js';

const Diagnosis = Type.Object({
  kind: Type.String({
    description:
      'access_token, refresh_token, api_key, session_cookie, mfa_token, jwt (issued elsewhere) or unknown',
  }),
  valid: Type.Boolean(),
  code: Type.String(),
  checks: Type.Array(
    Type.Object({
      name: Type.String(),
      ok: Type.Union([Type.Boolean(), Type.Null()]),
      detail: Type.String(),
    }),
  ),
  hint: Type.String(),
  preview: Type.String(),
  stripped: Type.Array(Type.String()),
  server_time: IsoTime,
});

export interface AdminDiagnoseRoutesDeps {
  tokenDoctor: TokenDoctor;
  events: Pick<Events, 'audit'>;
  guards: GuardDeps;
}

export async function adminDiagnoseRoutes(
  app: App,
  { tokenDoctor, events, guards }: AdminDiagnoseRoutesDeps,
) {
  app.post(
    '/v1/admin/diagnose',
    {
      onRequest: requireAdmin(guards),
      bodyLimit: 32 * 1024,
      schema: {
        tags: ['operators'],
        security: [{ bearer: [] }],
        description:
          'Explains any credential: every check it went through, one verdict, one code, and a hint.',
        body: Type.Object({
          token: Type.String({ maxLength: 16_384 }),
          kind: Type.Optional(
            Type.Union(
              CREDENTIAL_KINDS.map((kind) => Type.Literal(kind)),
              {
                description:
                  'Where the credential is used, when its text does not say: it is judged as that endpoint judges it',
              },
            ),
          ),
        }),
        response: responses({ 200: Diagnosis }),
      },
    },
    async (request) => {
      const diagnosis = await tokenDoctor.diagnose(request.body.token, request.body.kind);
      events.audit('diagnose', actorOf(request), {
        detail: { kind: diagnosis.kind, verdict: diagnosis.code },
      });
      return diagnosis;
    },
  );
}
