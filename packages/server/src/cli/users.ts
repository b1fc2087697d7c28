import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';

interface ExportOptions extends CommonOptions {
  output?: string;
}

export function registerUsers(program: Command): void {
  const users = program
    .command('users')
    .description('move users between databases, keeping ids and password hashes');

  withCommonOptions(
    users
      .command('export')
      .description('write every user as JSON lines')
      .option('--output <file>', 'write to a file instead of stdout'),
  ).action(async (options: ExportOptions) => {
    await withGatehouse(options, async ({ userTransfer }) => {
      const lines: string[] = [];
      for await (const record of userTransfer.exportUsers()) lines.push(JSON.stringify(record));
      const text = lines.length ? `${lines.join('\n')}\n` : '';
      if (options.output) {
        await writeFile(options.output, text, { mode: 0o600 });
        print(
          options,
          { exported: lines.length, file: options.output },
          `Exported ${lines.length} users to ${options.output}.`,
        );
      } else {
        process.stdout.write(text);
      }
    });
  });

  withCommonOptions(
    users
      .command('import')
      .description('import JSON lines written by `users export` (argon2 or bcrypt hashes)')
      .argument('<file>'),
  ).action(async (file: string, options: CommonOptions) => {
    const lines = (await readFile(file, 'utf8')).split('\n');
    await withGatehouse(options, async ({ userTransfer }) => {
      const count = await userTransfer.importLines(lines);
      print(
        options,
        { imported: count },
        `Imported ${count} users; bcrypt hashes are replaced by argon2id at each user's next login.`,
      );
    });
  });
}
