import { text } from 'node:stream/consumers';
import { type Command, Option } from 'commander';
import type { Check } from '../checks/check-trail.js';
import { ConfigError } from '../config/parse.js';
import { CREDENTIAL_KINDS, type NamedKind } from '../doctor/diagnose-token.js';
import { describeStorageFailure, StorageUnavailableError } from '../errors/storage-unavailable.js';
import { type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';

const mark = (check: Check) => (check.ok === true ? '✔' : check.ok === false ? '✘' : '–');
const checkLines = (checks: Check[]) =>
  checks.map((check) => `  ${mark(check)} ${check.name.padEnd(15)} ${check.detail}`).join('\n');

function openingFailure(error: unknown): Check | undefined {
  if (error instanceof ConfigError) return { name: 'configuration', ok: false, detail: error.message };
  if (error instanceof StorageUnavailableError) {
    return { name: 'database', ok: false, detail: describeStorageFailure(error.database, error.failure) };
  }
  return undefined;
}

async function readToken(argument: string): Promise<string> {
  return argument === '-' ? text(process.stdin) : argument;
}

export function registerDoctor(program: Command): void {
  const doctor = withCommonOptions(
    program
      .command('doctor')
      .description(
        'check this installation (exit code 1 when anything fails); `doctor token` explains a credential',
      ),
  ).action(async (options: CommonOptions) => {
    try {
      await withGatehouse(options, async ({ installationDoctor, installation }) => {
        const report = await installationDoctor.diagnose();
        print(
          options,
          report,
          `Gatehouse installation ${installation.id}\n${checkLines(report.checks)}\n\n${report.ok ? 'All checks passed.' : 'Some checks failed.'}`,
        );
        if (!report.ok) process.exitCode = 1;
      });
    } catch (error) {
      // What stops Gatehouse from opening at all is itself the finding: report it as the failed check.
      const check = openingFailure(error);
      if (!check) throw error;
      print(options, { ok: false, checks: [check] }, `${checkLines([check])}\n\nSome checks failed.`);
      process.exitCode = 1;
    }
  });

  withCommonOptions(
    doctor
      .command('token')
      .description(
        'explain why a credential is accepted or refused: access token, refresh token or API key (`-` reads stdin)',
      )
      .argument('<token>', 'the credential, or - to read it from standard input')
      .addOption(
        new Option('--kind <kind>', 'where the credential is used, when its text does not say').choices(
          CREDENTIAL_KINDS,
        ),
      ),
  ).action(async (argument: string, _options: CommonOptions, command: Command) => {
    // `doctor` takes the same options, and commander hands them to the parent: read both levels.
    const options = command.optsWithGlobals<CommonOptions & { kind?: NamedKind }>();
    const token = await readToken(argument);
    await withGatehouse(options, async ({ tokenDoctor }) => {
      const diagnosis = await tokenDoctor.diagnose(token, options.kind);
      const verdict = diagnosis.valid ? '✔ valid' : `✘ refused: ${diagnosis.code}`;
      print(
        options,
        diagnosis,
        `${diagnosis.kind} ${diagnosis.preview}\n${checkLines(diagnosis.checks)}\n\n${verdict}\n${diagnosis.hint}`,
      );
      if (!diagnosis.valid) process.exitCode = 1;
    });
  });
}
