import type { Command } from 'commander';
import { CLI_ACTOR, type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';
import { newAccountPassword, PASSWORD_OPTION_HELP } from './password-input.js';

interface AdminCreateOptions extends CommonOptions {
  email: string;
  password?: string;
}

export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('administrators');
  withCommonOptions(
    admin
      .command('create')
      .description('create an admin user, or grant admin to an existing one (works while the server runs)')
      .requiredOption('--email <email>', 'email of the admin')
      .option('--password <password>', `for a new account only: ${PASSWORD_OPTION_HELP}`),
  ).action(async (options: AdminCreateOptions) => {
    await withGatehouse(options, async ({ users }) => {
      // An existing account keeps its password: none is asked for.
      const existing = await users.findByEmail(options.email);
      const password = existing ? undefined : await newAccountPassword(options.password);
      const { user, created } = await users.ensureAdmin(options.email, password, CLI_ACTOR);
      print(
        options,
        { user, created },
        created
          ? `Created admin ${user.email} (${user.id}).`
          : `${user.email} (${user.id}) already existed; it now has the admin role and its password is unchanged.`,
      );
    });
  });
}
