import { KeyObject, sign } from 'node:crypto';
import { type CryptoKey, decodeJwt, decodeProtectedHeader } from 'jose';
import { call, type Reply } from './http.js';
import type { TestServer } from './test-server.js';

/** Where each kind belongs: access token → /v1/auth/me, refresh token → /oauth/token, key → /v1/keys/verify. */
export type Endpoint = 'me' | 'refresh' | 'verify';

export interface CorpusCase {
  family: string;
  name: string;
  endpoint: Endpoint;
  /** The instance the credential is used on; the doctor is asked on the same one. */
  on: TestServer;
  credential: string;
  /** Its use changes what the server answers next: a reuse revokes a family, a use counts against a limit. */
  changesServerState?: true;
}

export const caseLabel = (corpusCase: CorpusCase): string => `${corpusCase.family} › ${corpusCase.name}`;

/** The kind the doctor is told: where the credential is used, as the endpoint knows it. */
const kindUsedAt: Record<Endpoint, string> = {
  me: 'access_token',
  refresh: 'refresh_token',
  verify: 'api_key',
};

/**
 * The doctor's verdict for a credential used at `endpoint`: `ok` for a valid credential, else its reason
 * code. The doctor is told where the credential is used, as the endpoint knows it: text such as `GK_…` or
 * `undefined` says nothing of its kind by itself.
 */
export async function doctorVerdict(
  on: TestServer,
  adminKey: string,
  endpoint: Endpoint,
  credential: string,
): Promise<string> {
  const reply = await call(on.url, 'POST', '/v1/admin/diagnose', {
    token: adminKey,
    body: { token: credential, kind: kindUsedAt[endpoint] },
  });
  if (reply.status !== 200) return `HTTP ${reply.status} ${reply.body?.code}`;
  const { valid, code } = reply.body as { valid: boolean; code: string };
  return valid === (code === 'ok') ? code : `${code} (valid: ${valid})`;
}

const uses: Record<Endpoint, (on: TestServer, credential: string) => Promise<Reply>> = {
  me: (on, credential) => call(on.url, 'GET', '/v1/auth/me', { token: credential }),
  refresh: (on, credential) =>
    call(on.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: credential },
    }),
  verify: (on, credential) => call(on.url, 'POST', '/v1/keys/verify', { body: { key: credential } }),
};

/** Uses the credential where it belongs, as a client would. */
export const useCredential = (on: TestServer, endpoint: Endpoint, credential: string): Promise<Reply> =>
  uses[endpoint](on, credential);

/** The server's verdict where the credential is used: `ok` on success, else the reason code it answers. */
export async function serverVerdict(on: TestServer, endpoint: Endpoint, credential: string): Promise<string> {
  const reply = await useCredential(on, endpoint, credential);
  if (endpoint === 'verify' && reply.status === 200) return reply.body.valid ? 'ok' : reply.body.code;
  if (reply.status === 200) return 'ok';
  return reply.body?.code ?? `HTTP ${reply.status}`;
}

/** `work` over `items`, at most `limit` at a time, answers in order. Ten lines: not worth a dependency. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export type JsonObject = Record<string, unknown>;

/** A JWT taken apart: what a forger edits before signing again. */
export interface Jwt {
  header: JsonObject;
  claims: JsonObject;
}

export const readJwt = (token: string): Jwt => ({
  header: decodeProtectedHeader(token) as JsonObject,
  claims: decodeJwt(token) as JsonObject,
});

const segment = (value: JsonObject) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Signs exactly this header and these claims with `key`, whatever the header says: jose's SignJWT refuses a
 * header it would not accept (an alg other than the key's, an unknown `crit`), and a forger holding the key
 * is not so bound.
 */
export function signJwt({ header, claims }: Jwt, key: CryptoKey): string {
  const input = `${segment(header)}.${segment(claims)}`;
  const privateKey = KeyObject.from(key);
  const digest = privateKey.asymmetricKeyType === 'ec' ? 'sha256' : null;
  const signature = sign(digest, Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** This header and these claims under the signature of another token: an edit nobody signed. */
export const keepSignature = ({ header, claims }: Jwt, signed: string): string =>
  `${segment(header)}.${segment(claims)}.${signed.split('.')[2] ?? ''}`;

/** What the mutations need to know about the installation and the moment. */
export interface MutationContext {
  /** The frozen server time, in seconds. */
  now: number;
  skewSeconds: number;
  issuer: string;
  otherIssuer: string;
  otherAudience: string;
  alg: string;
  otherAllowedAlg: string;
  keys: { retiredPastWindow: string; retiredVerifying: string; next: string };
  ids: {
    anotherUser: string;
    anotherUsersSession: string;
    sameUsersOtherSession: string;
    sameUsersRevokedSession: string;
    neverExisted: string;
  };
}

/** A change of one header parameter or claim; mutations of the same field are never combined. */
export interface Mutation {
  field: string;
  name: string;
  apply(jwt: Jwt): Jwt;
}

const DROPPED = Symbol('dropped');
type Variant = [name: string, value: unknown];

interface FieldVariants {
  part: keyof Jwt;
  field: string;
  /** The first variant stands for the field when two fields are broken at once. */
  variants: Variant[];
}

function changed(jwt: Jwt, part: keyof Jwt, field: string, value: unknown): Jwt {
  const { [field]: _replaced, ...rest } = jwt[part];
  return { ...jwt, [part]: value === DROPPED ? rest : { ...rest, [field]: value } };
}

function headerVariants(context: MutationContext): FieldVariants[] {
  const { keys } = context;
  return [
    {
      part: 'header',
      field: 'alg',
      variants: [
        ['HS256', 'HS256'],
        [`${context.otherAllowedAlg}, the other allowed alg`, context.otherAllowedAlg],
        ['none', 'none'],
        ['lower-cased', context.alg.toLowerCase()],
        ['dropped', DROPPED],
      ],
    },
    {
      part: 'header',
      field: 'typ',
      variants: [
        ['JWT', 'JWT'],
        ['dropped', DROPPED],
        ['id_token+jwt, another media type', 'id_token+jwt'],
        ['application/at+jwt, the same type spelled in full (RFC 8725 §3.11)', 'application/at+jwt'],
        ['upper-cased', 'AT+JWT'],
      ],
    },
    {
      part: 'header',
      field: 'kid',
      variants: [
        ['unknown', 'unknown-key-0001'],
        ['dropped', DROPPED],
        ['of a key retired past its verification window', keys.retiredPastWindow],
        ['of the retired key that still verifies', keys.retiredVerifying],
        ['of the next key, published but not signing', keys.next],
        ['129 characters long', 'k'.repeat(129)],
        ['a path', '../../signing-keys/active'],
        ['a number', 7],
      ],
    },
    {
      part: 'header',
      field: 'crit',
      variants: [
        ['["x-gatehouse"], an extension nobody understands', ['x-gatehouse']],
        ['["exp"], a claim where a header parameter belongs', ['exp']],
      ],
    },
    {
      part: 'header',
      field: 'jku',
      variants: [['a key set to fetch', 'https://attacker.example/jwks.json']],
    },
    {
      part: 'header',
      field: 'jwk',
      variants: [
        [
          'an embedded public key (RFC 8037 A.2)',
          { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' },
        ],
      ],
    },
    {
      part: 'header',
      field: 'x5u',
      variants: [['a certificate to fetch', 'https://attacker.example/cert.pem']],
    },
  ];
}

function identityVariants(context: MutationContext): FieldVariants[] {
  const { ids, issuer } = context;
  return [
    {
      part: 'claims',
      field: 'iss',
      variants: [
        ['another issuer', context.otherIssuer],
        ['dropped', DROPPED],
        ['with a trailing slash', `${issuer}/`],
        ['a number', 42],
      ],
    },
    {
      part: 'claims',
      field: 'aud',
      variants: [
        ['another audience', context.otherAudience],
        ['dropped', DROPPED],
        ['a list of this server and another', [issuer, context.otherAudience]],
        ['a list of another only', [context.otherAudience]],
        ['an empty list', []],
      ],
    },
    {
      part: 'claims',
      field: 'sub',
      variants: [
        ['a user that never existed', ids.neverExisted],
        ['dropped', DROPPED],
        ["another user's id", ids.anotherUser],
        ['a number', 42],
        ['empty', ''],
      ],
    },
    {
      part: 'claims',
      field: 'sid',
      variants: [
        ['a session that never existed', ids.neverExisted],
        ['dropped', DROPPED],
        ["another user's session", ids.anotherUsersSession],
        ['another live session of the same user', ids.sameUsersOtherSession],
        ['a revoked session of the same user', ids.sameUsersRevokedSession],
      ],
    },
    {
      part: 'claims',
      field: 'jti',
      variants: [
        ['dropped', DROPPED],
        ['a number', 7],
      ],
    },
  ];
}

function timeVariants({ now, skewSeconds }: MutationContext): FieldVariants[] {
  return [
    {
      part: 'claims',
      field: 'iat',
      variants: [
        ['5 min ahead', now + 300],
        ['10 s ahead, within the skew', now + 10],
        ['1 h ago', now - 3600],
        ['a string', String(now)],
        ['dropped', DROPPED],
      ],
    },
    {
      part: 'claims',
      field: 'nbf',
      variants: [
        ['5 min ahead', now + 300],
        ['10 s ahead, within the skew', now + 10],
        ['exactly the skew ahead', now + skewSeconds],
        ['dropped', DROPPED],
      ],
    },
    {
      part: 'claims',
      field: 'exp',
      variants: [
        ['1 h ago', now - 3600],
        ['10 s ago, within the skew', now - 10],
        ['exactly the skew ago', now - skewSeconds],
        ['past the skew by 10 s', now - skewSeconds - 10],
        ['dropped', DROPPED],
        ['a string', String(now + 600)],
        ['in 10 years', now + 10 * 365 * 86_400],
      ],
    },
  ];
}

const grantVariants: FieldVariants[] = [
  {
    part: 'claims',
    field: 'scope',
    variants: [
      ['with admin added', 'openid profile email admin'],
      ['dropped', DROPPED],
      ['a number', 42],
    ],
  },
  { part: 'claims', field: 'tampered', variants: [['added, a claim nobody issues', true]] },
];

const fieldVariants = (context: MutationContext): FieldVariants[] => [
  ...headerVariants(context),
  ...identityVariants(context),
  ...timeVariants(context),
  ...grantVariants,
];

const mutationsOf = ({ part, field, variants }: FieldVariants): Mutation[] =>
  variants.map(([name, value]) => ({
    field,
    name: `${field}: ${name}`,
    apply: (jwt) => changed(jwt, part, field, value),
  }));

/** Every header parameter and claim changed one way at a time. */
export const tokenMutations = (context: MutationContext): Mutation[] =>
  fieldVariants(context).flatMap(mutationsOf);

/** Two fields broken at once, each its first way: the doctor and the server must name the same one. */
export function mutationPairs(context: MutationContext): Mutation[] {
  const firsts = fieldVariants(context).map((field) => mutationsOf(field)[0]!);
  return firsts.flatMap((first, index) =>
    firsts.slice(index + 1).map((second) => ({
      field: `${first.field}+${second.field}`,
      name: `${first.name} and ${second.name}`,
      apply: (jwt: Jwt) => second.apply(first.apply(jwt)),
    })),
  );
}

const middle = (text: string) => Math.floor(text.length / 2);
export const replaceAt = (text: string, index: number, character: string) =>
  `${text.slice(0, index)}${character}${text.slice(index + 1)}`;
const replaceMiddle = (text: string, character: string) => replaceAt(text, middle(text), character);

export type TextMutation = [name: string, apply: (text: string) => string];

/**
 * What copying, pasting, logging and truncating do to a credential's text. None puts a line break inside the
 * text: no HTTP header could carry it.
 */
export const textMutations: TextMutation[] = [
  ['with "Bearer " in front', (text) => `Bearer ${text}`],
  ['with "bearer " in front', (text) => `bearer ${text}`],
  ['in double quotes', (text) => `"${text}"`],
  ['in single quotes', (text) => `'${text}'`],
  ['in backticks', (text) => `\`${text}\``],
  ['quoted after "Bearer "', (text) => `Bearer "${text}"`],
  ['quoted, with a trailing newline', (text) => `"${text}"\n`],
  ['with a trailing newline', (text) => `${text}\n`],
  ['with a trailing CRLF', (text) => `${text}\r\n`],
  ['with a leading space', (text) => ` ${text}`],
  ['with a trailing space', (text) => `${text} `],
  ['between tabs', (text) => `\t${text}\t`],
  ['without its last character', (text) => text.slice(0, -1)],
  // Not the last: the last base64url character of a signature carries padding bits a decoder may ignore.
  [
    'with its second-to-last character changed',
    (text) => replaceAt(text, text.length - 2, text.at(-2) === 'A' ? 'B' : 'A'),
  ],
  ['with one character more', (text) => `${text}A`],
  ['cut in half', (text) => text.slice(0, middle(text))],
  [
    'with its middle third cut out',
    (text) => `${text.slice(0, Math.floor(text.length / 3))}${text.slice(Math.floor((2 * text.length) / 3))}`,
  ],
  ['with an extra segment', (text) => `${text}.e30`],
  ['with a "+" in the middle', (text) => replaceMiddle(text, '+')],
  ['with a "=" in the middle', (text) => replaceMiddle(text, '=')],
  ['with a "!" in the middle', (text) => replaceMiddle(text, '!')],
  ['with a space in the middle', (text) => `${text.slice(0, middle(text))} ${text.slice(middle(text))}`],
  ['pasted twice', (text) => `${text}${text}`],
  ['upper-cased', (text) => text.toUpperCase()],
];

const segmentsOf = (token: string) => token.split('.') as [string, string, string];

/** What breaks the three parts of a JWT in particular. */
export const jwtTextMutations: TextMutation[] = [
  [
    'with its payload cut short',
    (token) => {
      const [header, payload, signature] = segmentsOf(token);
      return `${header}.${payload.slice(0, middle(payload))}.${signature}`;
    },
  ],
  [
    'without its payload',
    (token) => {
      const [header, , signature] = segmentsOf(token);
      return `${header}..${signature}`;
    },
  ],
  [
    'without its signature',
    (token) => {
      const [header, payload] = segmentsOf(token);
      return `${header}.${payload}.`;
    },
  ],
  ['without its header', (token) => token.slice(token.indexOf('.') + 1)],
  ['without its last segment', (token) => token.slice(0, token.lastIndexOf('.'))],
];

/**
 * What a variable that was never set sends. (Empty text is not a credential: the doctor answers it 400
 * validation_failed, with nothing to diagnose, and each endpoint refuses it as a request without one.)
 */
export const emptyTexts: [name: string, text: string][] = [
  ['the word undefined', 'undefined'],
  ['the word null', 'null'],
];
