import type { Command } from 'commander';
import { type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';

interface AdminCreateOptions extends CommonOptions {
  email: string;
  password: string;
}

export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('administrators');
  withCommonOptions(
    admin
      .command('create')
      .description('create an admin user, or grant admin to an existing one (works while the server runs)')
      .requiredOption('--email <email>', 'email of the admin')
      .requiredOption('--password <password>', 'password for a new account (8 to 1024 characters)'),
  ).action(async (options: AdminCreateOptions) => {
    await withGatehouse(options, async ({ users }) => {
      const { user, created } = await users.ensureAdmin(options.email, options.password);
      print(
        options,
        { user, created },
        created
          ? `Created admin ${user.email} (${user.id}).`
          : `${user.email} (${user.id}) already existed; it now has the admin role.`,
      );
    });
  });
}
