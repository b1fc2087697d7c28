import type { ClientAction } from '@gatehouse/codes';

/** What the client knows about a failed exchange with Gatehouse or with an API called through `client.fetch`. */
export interface FailureDetails {
  /** The reason code (`docs/reason-codes.md`); absent for network errors and answers without one. */
  code?: string;
  status?: number;
  action?: ClientAction;
  hint?: string;
  requestId?: string;
  /** Whether waiting and trying again may succeed (network errors, 5xx, 429): the session is not over. */
  transient: boolean;
}

/**
 * The one error the client throws. A `transient` error never ends the session: the caller may retry later
 * and is still signed in. A definitive one carries the reason code the server gave.
 */
export class GatehouseClientError extends Error implements FailureDetails {
  readonly code: string | undefined;
  readonly status: number | undefined;
  readonly action: ClientAction | undefined;
  readonly hint: string | undefined;
  readonly requestId: string | undefined;
  readonly transient: boolean;

  constructor(message: string, details: FailureDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatehouseClientError';
    this.code = details.code;
    this.status = details.status;
    this.action = details.action;
    this.hint = details.hint;
    this.requestId = details.requestId;
    this.transient = details.transient;
  }
}
