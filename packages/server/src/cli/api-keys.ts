import type { Command } from 'commander';
import { CLI_ACTOR, type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';

interface CreateOptions extends CommonOptions {
  client: string;
  name: string;
  scopes?: string;
  expiresIn?: string;
}

interface RotateOptions extends CommonOptions {
  grace?: string;
}

export function registerApiKeys(program: Command): void {
  const keys = program
    .command('api-keys')
    .description('API keys of machine clients (signing keys are `gatehouse keys`)');

  withCommonOptions(
    keys
      .command('create')
      .description('issue a key; the full key is printed once, only previews afterwards')
      .requiredOption('--client <client-id>', 'the client that owns the key')
      .requiredOption('--name <name>', 'what the key is for')
      .option('--scopes <list>', 'comma list of agent, introspect, vault:read, admin (default agent)')
      .option('--expires-in <seconds>', 'lifetime in seconds (default: no expiry)'),
  ).action(async (options: CreateOptions) => {
    await withGatehouse(options, async ({ apiKeys }) => {
      const issued = await apiKeys.create(
        options.client,
        {
          name: options.name,
          ...(options.scopes ? { scopes: options.scopes.split(',').map((s) => s.trim()) } : {}),
          ...(options.expiresIn ? { expiresInSeconds: Number(options.expiresIn) } : {}),
        },
        CLI_ACTOR,
      );
      print(
        options,
        issued,
        `${issued.key}\n\nKey ${issued.preview} (${issued.id}) for ${issued.scopes.join(', ')}. Store it now: it is not shown again.`,
      );
    });
  });

  withCommonOptions(
    keys
      .command('list')
      .description("a client's keys, by preview")
      .requiredOption('--client <client-id>', 'the client'),
  ).action(async (options: CommonOptions & { client: string }) => {
    await withGatehouse(options, async ({ apiKeys }) => {
      const list = await apiKeys.list(options.client);
      print(
        options,
        { keys: list },
        list
          .map(
            (k) =>
              `${k.preview}  "${k.name}"  ${k.id}  ${k.status.padEnd(8)} [${k.scopes.join(' ')}] last used ${k.last_used_at ?? 'never'}`,
          )
          .join('\n') || 'No keys.',
      );
    });
  });

  withCommonOptions(
    keys
      .command('rotate')
      .description(
        'issue a successor; the old key keeps working for the grace period, then fails as key_revoked naming its successor',
      )
      .argument('<key-id>')
      .option('--grace <seconds>', 'grace period in seconds (default 86400)'),
  ).action(async (id: string, options: RotateOptions) => {
    await withGatehouse(options, async ({ apiKeys }) => {
      const issued = await apiKeys.rotate(
        id,
        options.grace === undefined ? 86_400 : Number(options.grace),
        CLI_ACTOR,
      );
      const replaced = await apiKeys.get(id);
      print(
        options,
        { ...issued, replaces: { id, usable_until: replaced.revoked_at } },
        `${issued.key}\n\nKey ${issued.preview} (${issued.id}) replaces ${replaced.preview} (${id}), which keeps working until ${replaced.revoked_at}. Store the new key now: it is not shown again.`,
      );
    });
  });

  withCommonOptions(keys.command('revoke').description('revoke a key at once').argument('<key-id>')).action(
    async (id: string, options: CommonOptions) => {
      await withGatehouse(options, async ({ apiKeys }) => {
        const key = await apiKeys.revoke(id, CLI_ACTOR);
        print(options, key, `Key ${key.preview} (${key.id}) is revoked.`);
      });
    },
  );
}
