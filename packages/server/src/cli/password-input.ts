import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { GatehouseError } from '../errors/gatehouse-error.js';

/** What `--password` takes: `-` reads standard input; any other value is the password itself. */
export const PASSWORD_OPTION_HELP =
  'the password; `-` reads it from standard input, and without this option a terminal is asked';

/** Somewhere to ask: the terminal's input, and the stream the question is written to. */
export interface Terminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  prompt: NodeJS.WritableStream;
}

const processTerminal = (): Terminal => ({ input: process.stdin, prompt: process.stderr });

/**
 * Asks each question in turn at the terminal and answers what was typed; the keys typed are not echoed. Lines
 * typed ahead wait for their question. Ctrl-C or the end of input leaves an answer short.
 */
async function askHidden(questions: string[], terminal: Terminal): Promise<string[]> {
  // Readline echoes what is typed to its output: it writes to nowhere, and only the questions are shown.
  const nowhere = new Writable({ write: (_chunk, _encoding, done) => done() });
  const reader = createInterface({ input: terminal.input, output: nowhere, terminal: true });
  const lines = reader[Symbol.asyncIterator]();
  try {
    const answers: string[] = [];
    for (const question of questions) {
      terminal.prompt.write(question);
      const line = await lines.next();
      terminal.prompt.write('\n');
      if (line.done) break;
      answers.push(line.value);
    }
    return answers;
  } finally {
    reader.close();
  }
}

const needsPassword = (detail: string) =>
  new GatehouseError('validation_failed', {
    detail,
    hint: 'At a terminal the command asks for the password (twice, not shown); elsewhere pass `--password -` and write it to standard input.',
  });

/** A new password asked twice, since a typing mistake cannot be seen. */
async function askNewPassword(terminal: Terminal): Promise<string> {
  const [password, again] = await askHidden(['New password: ', 'Same password again: '], terminal);
  if (password === undefined || again === undefined) throw needsPassword('password: none was entered');
  if (password !== again) throw needsPassword('password: the two entries differ');
  return password;
}

/**
 * The password for a new account, from `--password`: `-` reads standard input (without its final line
 * break), a value is the password itself, and without the option a terminal is asked. Refused when there is
 * neither option nor terminal.
 */
export async function newAccountPassword(
  option: string | undefined,
  terminal: Terminal = processTerminal(),
): Promise<string> {
  if (option === '-') return (await text(terminal.input)).replace(/\r?\n$/, '');
  if (option !== undefined) return option;
  if (!terminal.input.isTTY) {
    throw needsPassword('password: a new account needs one, and standard input is not a terminal to ask');
  }
  return askNewPassword(terminal);
}
