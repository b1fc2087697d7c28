import { type Code, reasonCodes } from '@gatehouse/codes';

/**
 * A decision that refuses a request. `detail` is public (shown to the caller); `internal` is for events and
 * logs only — e.g. `account_locked` is recorded while the caller sees `publicCode`.
 */
export class GatehouseError extends Error {
  readonly code: Code;
  readonly detail: string | undefined;
  /** What happened, for events and logs only: never sent to the caller. */
  readonly internal: string | undefined;
  readonly hint: string;
  readonly retryAfterSeconds: number | undefined;
  /** The code the caller sees when it must differ from the recorded one (never tell an attacker why). */
  readonly publicCode: Code;

  constructor(
    code: Code,
    options: {
      detail?: string;
      internal?: string;
      hint?: string;
      retryAfterSeconds?: number;
      publicCode?: Code;
      cause?: unknown;
    } = {},
  ) {
    super(`${code}: ${options.internal ?? options.detail ?? ''}`, { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.detail = options.detail;
    this.internal = options.internal;
    this.hint = options.hint ?? reasonCodes[options.publicCode ?? code].hint;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.publicCode = options.publicCode ?? code;
  }

  get status(): number {
    return reasonCodes[this.publicCode].status;
  }
}

export const isGatehouseError = (value: unknown): value is GatehouseError => value instanceof GatehouseError;
