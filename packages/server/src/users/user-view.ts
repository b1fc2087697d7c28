import { toIso } from '../clock.js';
import type { UserRow } from '../store/users-store.js';

/** The stored user, for domains that read it through the users domain rather than its store. */
export type { UserRow };

export interface User {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  disabled: boolean;
  mfa_enabled: boolean;
  created_at: string;
  updated_at: string;
}

export const parseRoles = (json: string): string[] => JSON.parse(json) as string[];

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    roles: parseRoles(row.roles),
    disabled: row.disabled_at !== null,
    mfa_enabled: row.mfa_enabled_at != null,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}
