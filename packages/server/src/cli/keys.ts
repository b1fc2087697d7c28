import type { Command } from 'commander';
import { toIso } from '../clock.js';
import { JWKS_MAX_AGE_SECONDS, type KeyInfo } from '../keyring/keyring.js';
import { type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';

const keyJson = (key: KeyInfo) => ({
  kid: key.kid,
  alg: key.alg,
  state: key.state,
  created_at: toIso(key.createdAt),
  activated_at: key.activatedAt === null ? null : toIso(key.activatedAt),
  retired_at: key.retiredAt === null ? null : toIso(key.retiredAt),
  verify_until: key.verifyUntil === null ? null : toIso(key.verifyUntil),
});

function keyLine(key: KeyInfo, now: number): string {
  const until =
    key.verifyUntil === null
      ? ''
      : key.verifyUntil > now
        ? ` verifies until ${toIso(key.verifyUntil)}`
        : ' no longer verifies';
  return `${key.state.padEnd(8)} ${key.kid}  ${key.alg.padEnd(6)} created ${toIso(key.createdAt)}${until}`;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('signing keys (the keyring behind JWKS)');

  withCommonOptions(keys.command('list').description('list signing keys: active, next and retired')).action(
    async (options: CommonOptions) => {
      await withGatehouse(options, async ({ keyring, clock }) => {
        const list = keyring.list();
        const now = clock.now();
        print(options, { keys: list.map(keyJson) }, list.map((key) => keyLine(key, now)).join('\n'));
      });
    },
  );

  withCommonOptions(
    keys
      .command('rotate')
      .description(
        `make the next key active, retire the active one, publish a new next key; refused until the next key has been published for ${JWKS_MAX_AGE_SECONDS} s (the JWKS cache lifetime)`,
      )
      .option(
        '--force',
        'rotate even if verifiers may not have the next key yet (for an exposed key that must stop signing now)',
      ),
  ).action(async (options: CommonOptions & { force?: boolean }) => {
    await withGatehouse(options, async ({ keyring }) => {
      const result = await keyring.rotate({ force: options.force === true });
      const retired = keyring.describe(result.retired);
      print(
        options,
        { ...result, retired_verify_until: retired?.verifyUntil ? toIso(retired.verifyUntil) : null },
        `Rotated: ${result.activated} now signs; ${result.retired} is retired and verifies until ${
          retired?.verifyUntil ? toIso(retired.verifyUntil) : '?'
        }. Running servers pick this up within GATEHOUSE_KEYRING_REFRESH_SECONDS.`,
      );
    });
  });
}
