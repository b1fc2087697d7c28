import type { Authenticator } from '../authenticate.js';

/** What every framework adapter needs: how to judge a request's credential, and the realm it answers with. */
export interface GuardContext {
  authenticate: Authenticator;
  issuer: string;
}

/** Node's incoming headers may repeat a name; a repeated Authorization header is not one credential. */
export const singleHeader = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? undefined : value;
