import type { Command } from 'commander';
import { fromNow } from '../checks/human-duration.js';
import type { ConnectionView, RefreshView } from '../vault/connection-view.js';
import { CLI_ACTOR, type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';

const STATE_MARK: Record<ConnectionView['state'], string> = {
  active: '●',
  pending: '○',
  failing: '▲',
  expired: '✘',
  reauth_required: '✘',
};

function expiryText(connection: ConnectionView): string {
  if (!connection.expires_at) return 'no token yet';
  const left = connection.seconds_left ?? 0;
  return left > 0
    ? `expires ${connection.expires_at} (${fromNow(left * 1000)})`
    : `expired at ${connection.expires_at}`;
}

function refreshLine(refresh: RefreshView): string {
  const when = `${refresh.started_at} ${refresh.triggered_by.padEnd(10)} ${refresh.outcome.padEnd(20)}`;
  if (refresh.outcome !== 'ok') return `${when} ${refresh.detail ?? ''}`;
  const reported = refresh.provider_expires_at
    ? `, provider said ${refresh.provider_expires_at}${refresh.difference_seconds === null ? '' : ` (difference ${refresh.difference_seconds}s)`}`
    : '';
  const notes = refresh.detail ? `; ${refresh.detail}` : '';
  return `${when} expires ${refresh.expires_at} from ${refresh.expiry_source}${reported}${notes}`;
}

function describeConnection(connection: ConnectionView): string {
  const lines = [
    `${STATE_MARK[connection.state]} ${connection.name}  ${connection.state}  ${expiryText(connection)}`,
    `    ${connection.grant_type} at ${connection.token_url}  client ${connection.client_id}  margin ${connection.refresh_margin_seconds}s${connection.scope ? `  scope "${connection.scope}"` : ''}`,
    `    last refresh ${connection.last_refresh_at ?? 'never'}${connection.token_preview ? `  token ${connection.token_preview}` : ''}${connection.refreshing ? '  (refreshing now)' : ''}`,
  ];
  if (connection.last_error) {
    lines.push(
      `    last error ${connection.last_error.code} at ${connection.last_error.at}: ${connection.last_error.detail ?? ''}`,
    );
  }
  if (connection.next_attempt_at) {
    lines.push(
      `    next attempt ${connection.next_attempt_at} (failure ${connection.failure_count} in a row)`,
    );
  }
  if (connection.refreshes.length) {
    lines.push('    refreshes, newest first:', ...connection.refreshes.map((r) => `      ${refreshLine(r)}`));
  }
  return lines.join('\n');
}

interface StatusOptions extends CommonOptions {
  history: string;
}

export function registerVault(program: Command): void {
  const vaultCommands = program
    .command('vault')
    .description('the outbound token vault: third-party OAuth connections and their tokens');

  withCommonOptions(
    vaultCommands
      .command('status')
      .description(
        'each connection: state, expiry (UTC and time left), last refresh, last error, refresh history',
      )
      .argument('[name]', 'only this connection')
      .option('--history <n>', 'refresh attempts shown per connection (at most 50)', '10'),
  ).action(async (name: string | undefined, options: StatusOptions) => {
    await withGatehouse(options, async ({ vault, clock }) => {
      const history = Math.min(50, Math.max(1, Number(options.history) || 10));
      const connections = name
        ? [await vault.get(name, history)]
        : (await vault.list()).map((connection) => ({
            ...connection,
            refreshes: connection.refreshes.slice(0, history),
          }));
      print(
        options,
        { server_time: new Date(clock.now()).toISOString(), connections },
        connections.length ? connections.map(describeConnection).join('\n') : 'No vault connections yet.',
      );
    });
  });

  withCommonOptions(
    vaultCommands
      .command('refresh')
      .description('refresh a connection now, whatever its schedule or backoff (after fixing the provider)')
      .argument('<name>'),
  ).action(async (name: string, options: CommonOptions) => {
    await withGatehouse(options, async ({ vault }) => {
      const connection = await vault.refresh(name, CLI_ACTOR);
      print(options, connection, describeConnection(connection));
      if (connection.state !== 'active') process.exitCode = 1;
    });
  });
}
