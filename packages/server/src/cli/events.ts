import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { EventView } from '../events/events.js';
import { parseSince } from '../events/since.js';
import { type CommonOptions, withCommonOptions, withGatehouse } from './context.js';

interface EventsOptions extends CommonOptions {
  code?: string;
  type?: string;
  since?: string;
  limit: string;
  follow?: boolean;
}

const FOLLOW_INTERVAL_MS = 1000;

function describe(event: EventView): string {
  const who = [
    event.user_id && `user ${event.user_id}`,
    event.client_id && `client ${event.client_id}`,
    event.agent_id && `agent ${event.agent_id}`,
    event.key_id && `key ${event.key_id}`,
    event.actor_id && `by ${event.actor_id}`,
  ].filter(Boolean);
  const detail = event.detail ? ` ${JSON.stringify(event.detail)}` : '';
  return `${event.at} ${event.type.padEnd(18)} ${event.code.padEnd(22)} ${who.join(' ')}${event.token_preview ? ` ${event.token_preview}` : ''} ip=${event.ip ?? '-'} req=${event.request_id ?? '-'}${detail}`;
}

export function registerEvents(program: Command): void {
  withCommonOptions(
    program
      .command('events')
      .description('authentication decisions, newest last; --follow keeps printing new ones')
      .option('--code <code>', 'only this reason code (ok for acceptances)')
      .option(
        '--type <type>',
        'only this kind of decision (login, refresh, token.check, key.verify, agent.heartbeat, …)',
      )
      .option('--since <when>', 'an ISO time or a duration back from now: 90s, 15m, 1h, 7d', '1h')
      .option('--limit <n>', 'at most this many', '100')
      .option('--follow', 'keep printing new events until interrupted'),
  ).action(async (options: EventsOptions) => {
    await withGatehouse(options, async ({ events, clock }) => {
      const filter = {
        limit: Number(options.limit),
        ...(options.code ? { code: options.code } : {}),
        ...(options.type ? { type: options.type } : {}),
      };
      const emit = (batch: EventView[]) => {
        for (const event of [...batch].reverse()) {
          process.stdout.write(`${options.json ? JSON.stringify(event) : describe(event)}\n`);
        }
      };
      let since = parseSince(options.since ?? '1h', clock.now());
      let seen = new Set<string>();
      let first = true;
      do {
        const fresh = (await events.query({ ...filter, since })).filter((event) => !seen.has(event.id));
        // On stderr, so a pipe of --json lines stays JSON.
        if (first && fresh.length === filter.limit) {
          process.stderr.write(
            `The newest ${filter.limit} events are shown; older ones since ${new Date(since).toISOString()} were left out (raise --limit or narrow --since).\n`,
          );
        }
        first = false;
        emit(fresh);
        if (fresh.length) {
          since = Date.parse(fresh[0]!.at);
          seen = new Set(fresh.filter((event) => Date.parse(event.at) === since).map((event) => event.id));
        }
        if (options.follow) await sleep(FOLLOW_INTERVAL_MS);
      } while (options.follow);
    });
  });
}
