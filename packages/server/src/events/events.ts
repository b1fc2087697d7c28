import type { Code } from '@gatehouse/codes';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../clock.js';
import type { Leases } from '../fleet/lease.js';
import { LabelCells } from '../metrics/label-cells.js';
import {
  deleteEventsBefore,
  type EventFilter,
  type EventRow,
  insertEvents,
  queryEvents,
} from '../store/events-store.js';
import type { Database } from '../store/schema.js';

/** Who sent the request a decision was about. */
export interface EventContext {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** Who performs an administrative action, and from where (an HTTP request, or the CLI on the server's host). */
export interface Actor {
  id: string | null;
  context?: EventContext;
  via: 'api' | 'cli' | 'internal';
  /** The operating-system account that ran a command: the CLI has no user id to name. */
  osUser?: string | null;
}

/** The actor of a call made in-process (tests, seeding), not on behalf of a request or a command. */
export const INTERNAL_ACTOR: Actor = { id: null, via: 'internal' };

export interface AuthEvent {
  /** What was decided, e.g. `login`, `key.verify`, `agent.heartbeat`, `client.suspend`. */
  type: string;
  /** The reason code of a refusal, or `ok`. */
  code: Code | 'ok';
  context?: EventContext;
  userId?: string | null;
  clientId?: string | null;
  agentId?: string | null;
  keyId?: string | null;
  sessionId?: string | null;
  /** Who performed an administrative action (a user id or an API key id). */
  actorId?: string | null;
  /** A preview of the credential presented — never the credential itself. */
  tokenPreview?: string | null;
  detail?: Record<string, unknown>;
}

/** An event as the API shows it: times in ISO 8601, detail as JSON. */
export type EventView = Omit<EventRow, 'at' | 'detail'> & {
  at: string;
  detail: Record<string, unknown> | null;
};

type TallyEvent = Pick<AuthEvent, 'type' | 'keyId' | 'clientId' | 'userId'>;

interface Tally {
  /** The first acceptance counted, which the written event describes. */
  event: TallyEvent | undefined;
  count: number;
  first: number;
  last: number;
}

export interface Events {
  /** Queues an event; never blocks or fails the request. When the queue is full the event is dropped and counted. */
  record(event: AuthEvent): void;
  /**
   * Counts an acceptance on a hot path (a key verified thousands of times a second) instead of writing a row
   * for each: one `ok` event per subject per tally interval carries `detail.count`, `first_at` and `last_at`.
   * Metrics still count every decision, and refusals are always recorded one by one.
   */
  tally(event: TallyEvent): void;
  /** Records an administrative action (`client.suspend`, `key.rotate`, …) with the actor who took it. */
  audit(
    type: string,
    actor: Actor,
    subject: Pick<AuthEvent, 'userId' | 'clientId' | 'keyId' | 'agentId' | 'sessionId' | 'detail'>,
  ): void;
  /** Writes everything queued (also on shutdown). */
  flush(): Promise<void>;
  query(filter: EventFilter): Promise<EventView[]>;
  droppedCount(): number;
  queuedCount(): number;
  start(): void;
  close(): Promise<void>;
}

export interface EventsOptions {
  db: Kysely<Database>;
  clock: Clock;
  retentionDays: number;
  /** The retention sweep runs on one instance of the fleet at a time. */
  leases: Leases;
  onError: (error: unknown, message: string) => void;
  /** Hears every decision recorded, to count it (metrics). */
  onDecision: (type: string, code: string) => void;
  maxQueue?: number;
  flushIntervalMs?: number;
  tallyIntervalMs?: number;
}

const toView = (row: EventRow): EventView => ({
  ...row,
  at: new Date(row.at).toISOString(),
  detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
});

const RETENTION_SWEEP_MS = 3_600_000;
const BATCH_SIZE = 500;

export function createEvents(options: EventsOptions): Events {
  const { db, clock, onError } = options;
  const maxQueue = options.maxQueue ?? 10_000;
  let queue: EventRow[] = [];
  let dropped = 0;
  let flushing: Promise<void> | undefined;
  const timers: NodeJS.Timeout[] = [];
  /** Acceptances counted since the last tally was written, by event type and subject (key or user). */
  const tallies = new LabelCells<Tally>(() => ({ event: undefined, count: 0, first: 0, last: 0 }));

  function writeTallies(): void {
    for (const { event, count, first, last } of tallies.all()) {
      queueRow({
        ...event!,
        code: 'ok',
        detail: { count, first_at: new Date(first).toISOString(), last_at: new Date(last).toISOString() },
      });
    }
    tallies.clear();
  }

  async function writeQueued(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, BATCH_SIZE);
      await insertEvents(db, batch);
      queue = queue.slice(batch.length);
    }
  }

  function flush(): Promise<void> {
    flushing ??= writeQueued().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  const sweepRetention = () =>
    options.leases
      .runOnce('events-retention', 2 * RETENTION_SWEEP_MS, async () => {
        await deleteEventsBefore(db, clock.now() - options.retentionDays * 86_400_000);
      })
      .catch((error: unknown) => onError(error, 'could not delete expired events'));

  function record(event: AuthEvent): void {
    options.onDecision(event.type, event.code);
    queueRow(event);
  }

  function queueRow(event: AuthEvent): void {
    if (queue.length >= maxQueue) {
      dropped += 1;
      return;
    }
    queue.push({
      id: uuidv7(),
      at: clock.now(),
      type: event.type,
      code: event.code,
      user_id: event.userId ?? null,
      client_id: event.clientId ?? null,
      agent_id: event.agentId ?? null,
      key_id: event.keyId ?? null,
      session_id: event.sessionId ?? null,
      actor_id: event.actorId ?? null,
      ip: event.context?.ip?.slice(0, 64) ?? null,
      user_agent: event.context?.userAgent?.slice(0, 512) ?? null,
      request_id: event.context?.requestId ?? null,
      token_preview: event.tokenPreview?.slice(0, 64) ?? null,
      detail: event.detail ? JSON.stringify(event.detail) : null,
    });
    if (queue.length >= BATCH_SIZE)
      void flush().catch((error: unknown) => onError(error, 'could not write events'));
  }

  return {
    record,
    tally(event) {
      options.onDecision(event.type, 'ok');
      const now = clock.now();
      const entry = tallies.cell(event.type, event.keyId ?? event.userId ?? '');
      if (entry.count === 0) {
        entry.event = event;
        entry.first = now;
      }
      entry.count += 1;
      entry.last = now;
    },
    audit(type, actor, subject) {
      record({
        type,
        code: 'ok',
        actorId: actor.id,
        ...(actor.context ? { context: actor.context } : {}),
        ...subject,
        detail: { via: actor.via, ...(actor.osUser ? { os_user: actor.osUser } : {}), ...subject.detail },
      });
    },
    flush,
    async query(filter) {
      writeTallies();
      await flush();
      return (await queryEvents(db, filter)).map(toView);
    },
    droppedCount: () => dropped,
    queuedCount: () => queue.length,
    start() {
      const tick = setInterval(
        () =>
          void flush().catch((error: unknown) => onError(error, 'could not write events; they stay queued')),
        options.flushIntervalMs ?? 500,
      );
      const tallyTick = setInterval(writeTallies, options.tallyIntervalMs ?? 60_000);
      const sweep = setInterval(() => void sweepRetention(), RETENTION_SWEEP_MS);
      tallyTick.unref();
      tick.unref();
      sweep.unref();
      timers.push(tick, tallyTick, sweep);
      void sweepRetention();
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      writeTallies();
      await flush();
    },
  };
}
