/**
 * The shape of a Gatehouse access token, as the server and the verifier both check it before any
 * cryptography, so that both refuse the same tokens with the same code.
 */
export const accessTokenFormat = {
  /** RFC 9068 media type: an ID token or any other JWT is never accepted as an access token. */
  typ: 'at+jwt',
  maxLength: 8192,
  /** Three base64url parts; the signature may be empty (`alg: none`), which is refused by its algorithm. */
  shape: /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/,
  /** A `kid` outside this shape is never looked up anywhere (`../../etc/passwd`, SQL). */
  kidShape: /^[A-Za-z0-9_-]{1,128}$/,
} as const;

/** Whether a kid may be looked up at all; anything else is treated as absent. */
export const wellFormedKid = (kid: unknown): string | undefined =>
  typeof kid === 'string' && accessTokenFormat.kidShape.test(kid) ? kid : undefined;

/** Whether the string can be a JWT access token at all (length and shape), before decoding it. */
export const hasAccessTokenShape = (token: string): boolean =>
  token.length <= accessTokenFormat.maxLength && accessTokenFormat.shape.test(token);
