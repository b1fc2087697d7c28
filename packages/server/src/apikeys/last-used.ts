import type { Kysely } from 'kysely';
import { recordApiKeyUse } from '../store/api-keys-store.js';
import type { Database } from '../store/schema.js';

/** Last-use times, kept in memory and written in one batch every few seconds: no write on the verify path. */
export class LastUsedBatcher {
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly onError: (error: unknown) => void,
  ) {}

  note(keyId: string, at: number): void {
    this.#pending.set(keyId, at);
  }

  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      await recordApiKeyUse(this.db, batch);
    } catch (error) {
      for (const [id, at] of batch) if (!this.#pending.has(id)) this.#pending.set(id, at);
      throw error;
    }
  }

  start(intervalMs = 5000): void {
    this.#timer = setInterval(() => void this.flush().catch(this.onError), intervalMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
