import { GatehouseError } from '../errors/gatehouse-error.js';
import type { AuthEvent, Events } from './events.js';

/**
 * Runs one decision and records it: `ok` with what it produced, or the refusal's (internal) code and detail.
 * `work` may name whom the decision is about as soon as it learns it (`identify`), so a refusal that comes
 * later is recorded against that user too.
 */
export async function decided<T>(
  events: Events,
  event: Omit<AuthEvent, 'code'>,
  work: (identify: (subject: Partial<AuthEvent>) => void) => Promise<T>,
  subject: (result: T) => Partial<AuthEvent>,
): Promise<T> {
  let known: Partial<AuthEvent> = {};
  try {
    const result = await work((found) => {
      known = { ...known, ...found };
    });
    events.record({ ...event, ...known, code: 'ok', ...subject(result) });
    return result;
  } catch (error) {
    if (error instanceof GatehouseError) {
      events.record({
        ...event,
        ...known,
        code: error.code,
        detail: { ...event.detail, reason: error.internal ?? error.detail },
      });
    }
    throw error;
  }
}
