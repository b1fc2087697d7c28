import { GatehouseClientError } from './errors.js';
import {
  type Decision,
  type DecisionContext,
  decide,
  isPassing,
  type Outcome,
  type RetryOptions,
  retryDelay,
} from './policy.js';
import { type Failure, readFailure } from './read-failure.js';
import type { ServerClock } from './server-clock.js';

/** Told before each wait, so a page can say "server restarting — retrying, still signed in". */
export interface RetryInfo {
  url: string;
  /** The attempt that just failed (1 for the first). */
  attempt: number;
  delayMs: number;
  status?: number;
  code?: string;
}

export interface TransportOptions {
  fetch: typeof fetch;
  /** Answers from this origin (Gatehouse) are the ones the server clock learns from. */
  gatehouseOrigin: string;
  clock: ServerClock;
  localNow: () => number;
  random: () => number;
  retry: RetryOptions;
  onRetry?: (info: RetryInfo) => void;
}

/** The end of one exchange after retries: an answer (or the network error) and what the policy decided. */
export interface Sent {
  decision: Decision;
  response?: Response;
  failure?: Failure;
  error?: unknown;
}

const isAbort = (error: unknown) => error instanceof Error && error.name === 'AbortError';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends requests made by `build` (a fresh one per attempt), retrying what the policy calls passing. */
export function createTransport(options: TransportOptions) {
  const { clock, localNow } = options;

  async function attempt(request: Request): Promise<{ outcome: Outcome } & Omit<Sent, 'decision'>> {
    const sentAt = localNow();
    let response: Response;
    try {
      response = await options.fetch(request);
    } catch (error) {
      // The caller cancelled: not a failure to retry.
      if (isAbort(error)) throw error;
      return { outcome: { ok: false, networkError: true }, error };
    }
    if (new URL(request.url).origin === options.gatehouseOrigin) {
      clock.observe(response.headers.get('date'), sentAt, localNow());
    }
    if (response.ok) return { outcome: { ok: true }, response };
    const failure = await readFailure(response);
    return { outcome: { ok: false, ...failure }, response, failure };
  }

  return async function send(build: () => Request, context: DecisionContext): Promise<Sent> {
    const startedAt = localNow();
    for (let attempts = 1; ; attempts++) {
      const request = build();
      const { outcome, ...result } = await attempt(request);
      const decision = decide(outcome, context);
      if (decision.kind !== 'retry') return { decision, ...result };
      const afterMs = decision.afterMs;
      const delayMs = retryDelay(attempts, localNow() - startedAt, afterMs, options.retry, options.random);
      if (delayMs === undefined) return { decision: { kind: 'give_up' }, ...result };
      await result.response?.body?.cancel();
      options.onRetry?.({
        url: request.url,
        attempt: attempts,
        delayMs,
        ...(result.failure ? { status: result.failure.status } : {}),
        ...(result.failure?.code ? { code: result.failure.code } : {}),
      });
      await sleep(delayMs);
    }
  };
}

export type Send = ReturnType<typeof createTransport>;

/** The failure of an exchange as the error callers get. */
export function errorOf(sent: Sent): GatehouseClientError {
  const { failure } = sent;
  if (!failure) {
    return new GatehouseClientError(
      'Gatehouse could not be reached',
      { transient: true },
      { cause: sent.error },
    );
  }
  const reason = failure.code ?? `HTTP ${failure.status}`;
  return new GatehouseClientError(failure.hint ? `${reason}: ${failure.hint}` : reason, {
    ...failure,
    transient: isPassing(failure),
  });
}
