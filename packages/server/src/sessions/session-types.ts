import type { SessionRow } from '../store/sessions-store.js';
import type { AccessClaims } from '../tokens/access-tokens.js';
import type { User } from '../users/user-view.js';

/** Who a session is for: the user's id and the roles that shape the token's scope. */
export interface Subject {
  id: string;
  roles: string[];
}

export interface TokenSet {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  session_id: string;
}

export interface Principal {
  user: User;
  roles: string[];
  session: SessionRow;
  /** The access token's claims; absent when the request was authenticated by a session cookie. */
  claims?: AccessClaims;
}

export interface SessionView {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}
