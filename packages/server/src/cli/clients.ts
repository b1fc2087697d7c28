import type { Command } from 'commander';
import type { AgentView } from '../agents/agents.js';
import type { KeyView } from '../apikeys/api-keys.js';
import type { ClientView } from '../clients/clients.js';
import { CLI_ACTOR, type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';

interface ClientReport extends ClientView {
  keys: KeyView[];
  agents: AgentView[];
}

function describeClient(client: ClientReport): string {
  const lines = [
    `${client.status === 'active' ? '●' : '○'} ${client.name}  ${client.id}  ${client.status}${client.status_changed_at ? ` since ${client.status_changed_at}` : ''}`,
  ];
  for (const key of client.keys) {
    const extra = key.replaced_by ? ` → replaced by ${key.replaced_by.preview}` : '';
    lines.push(
      `    key   "${key.name}" ${key.preview}  ${key.status.padEnd(8)} last used ${key.last_used_at ?? 'never'}  [${key.scopes.join(' ')}]${extra}`,
    );
  }
  for (const agent of client.agents) {
    lines.push(
      `    agent ${agent.name} (${agent.id})  ${agent.status.padEnd(7)} last heartbeat ${agent.last_heartbeat_at ?? 'never'}  last auth ${agent.last_auth_code ?? '—'}${agent.last_auth_at ? ` at ${agent.last_auth_at}` : ''}`,
    );
  }
  return lines.join('\n');
}

interface CreateOptions extends CommonOptions {
  name: string;
  email?: string;
}

export function registerClients(program: Command): void {
  const clientCommands = program.command('clients').description('machine clients: their API keys and agents');

  withCommonOptions(
    clientCommands
      .command('create')
      .description('create a client (a tenant of machine identities)')
      .requiredOption('--name <name>', 'display name')
      .option('--email <email>', 'contact email'),
  ).action(async (options: CreateOptions) => {
    await withGatehouse(options, async ({ clients }) => {
      const client = await clients.create({ name: options.name, email: options.email ?? null }, CLI_ACTOR);
      print(options, client, `Created client ${client.name} (${client.id}).`);
    });
  });

  withCommonOptions(
    clientCommands
      .command('list')
      .description(
        'every client with its keys (by preview, status, last use) and agents (last heartbeat, last auth result)',
      ),
  ).action(async (options: CommonOptions) => {
    await withGatehouse(options, async ({ clients, apiKeys, agents }) => {
      const report: ClientReport[] = [];
      for (const client of await clients.list()) {
        report.push({
          ...client,
          keys: await apiKeys.list(client.id),
          agents: await agents.list(client.id),
        });
      }
      print(
        options,
        { clients: report },
        report.length ? report.map(describeClient).join('\n') : 'No clients yet.',
      );
    });
  });

  for (const [command, status] of [
    ['suspend', 'suspended'],
    ['activate', 'active'],
  ] as const) {
    withCommonOptions(
      clientCommands
        .command(command)
        .description(
          `${command} a client: its keys ${status === 'active' ? 'work again' : 'fail as client_inactive'} on this instance at once, on the others within GATEHOUSE_CHANGE_POLL_MS (at once with Redis)`,
        )
        .argument('<client-id>'),
    ).action(async (id: string, options: CommonOptions) => {
      await withGatehouse(options, async ({ clients }) => {
        const client = await clients.update(id, { status }, CLI_ACTOR);
        print(options, client, `Client ${client.name} (${client.id}) is now ${client.status}.`);
      });
    });
  }
}
