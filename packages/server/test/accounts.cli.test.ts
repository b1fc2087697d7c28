import { userInfo } from 'node:os';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { newAccountPassword, type Terminal } from '../src/cli/password-input.js';
import { gatehouseCli } from './support/cli.js';
import { gatehouseCliWithInput } from './support/cli-stdin.js';
import { call, PASSWORD, uniqueEmail } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

const OS_USER = userInfo().username;

describe('accounts from the command line, with sign-up closed', () => {
  let server: TestServer;
  useTestServer({ env: { GATEHOUSE_SIGNUP: 'closed', GATEHOUSE_LOCKOUT_THRESHOLD: '2' } }, (started) => {
    server = started.server;
  });

  const cli = (...args: string[]) => gatehouseCli(args, server.env);
  const cliWithInput = (input: string, ...args: string[]) => gatehouseCliWithInput(args, server.env, input);
  const login = (email: string, password = PASSWORD) =>
    call(server.url, 'POST', '/v1/auth/login', { body: { email, password } });
  const eventsOf = (type: string, userId: string) =>
    server.gatehouse.events.query({ type, userId, limit: 10 });

  async function existingAccount(email = uniqueEmail('existing')) {
    return server.gatehouse.users.create({ email, password: PASSWORD });
  }

  // Regression: the grant left no event, and demanded a password it then ignored.
  it('grants admin to an existing account without a password, and the event names the CLI and the OS user', async () => {
    const user = await existingAccount();
    const granted = await cli('admin', 'create', '--email', user.email, '--json');
    expect(granted.code, granted.stderr).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({
      created: false,
      user: { id: user.id, roles: ['admin'] },
    });
    expect((await login(user.email)).body.user.roles).toEqual(['admin']);

    const [event] = await eventsOf('user.roles', user.id);
    expect(event).toMatchObject({
      code: 'ok',
      actor_id: null,
      detail: { via: 'cli', os_user: OS_USER, roles: ['admin'] },
    });
  });

  it('creates an admin with the password read from standard input (`--password -`), never printing it', async () => {
    const email = uniqueEmail('stdin-admin');
    const password = '  a passphrase with spaces  ';
    const created = await cliWithInput(
      `${password}\n`,
      'admin',
      'create',
      '--email',
      email,
      '--password',
      '-',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^Created admin /);
    expect(`${created.stdout}${created.stderr}`).not.toContain('passphrase');

    const signedIn = await login(email, password);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.roles).toEqual(['admin']);
    const [event] = await eventsOf('user.create', signedIn.body.user.id);
    expect(event).toMatchObject({ detail: { via: 'cli', os_user: OS_USER, roles: ['admin'] } });
  });

  it('refuses a new admin without a password when there is no terminal to ask, saying how to give one', async () => {
    const email = uniqueEmail('no-password');
    const refused = await cliWithInput('', 'admin', 'create', '--email', email);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('validation_failed: password:');
    expect(refused.stderr).toContain('--password -');
    expect(await server.gatehouse.users.findByEmail(email)).toBeUndefined();
  });

  // Regression: with sign-up closed, the refusal said "ask an administrator", who had no way to do it.
  it('creates an ordinary account with `users create` while sign-up is closed', async () => {
    const email = uniqueEmail('ordinary');
    const signup = await call(server.url, 'POST', '/v1/auth/signup', { body: { email, password: PASSWORD } });
    expect(signup.body.code).toBe('signup_closed');

    const created = await cliWithInput(
      `${PASSWORD}\n`,
      'users',
      'create',
      '--email',
      email,
      '--password',
      '-',
      '--name',
      'Ada',
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    const { user } = JSON.parse(created.stdout);
    expect(user).toMatchObject({ email, name: 'Ada', roles: [] });
    expect((await login(email)).status).toBe(200);
    const [event] = await eventsOf('user.create', user.id);
    expect(event).toMatchObject({ detail: { via: 'cli', os_user: OS_USER, roles: [] } });

    const again = await cliWithInput(`${PASSWORD}\n`, 'users', 'create', '--email', email, '--password', '-');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('email_taken');
  });

  it('gives roles with `users create --role`, and refuses one that does not exist', async () => {
    const email = uniqueEmail('with-role');
    const created = await cliWithInput(
      `${PASSWORD}\n`,
      'users',
      'create',
      '--email',
      email,
      '--password',
      '-',
      '--role',
      'admin',
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).user.roles).toEqual(['admin']);

    const unknown = uniqueEmail('unknown-role');
    const refused = await cliWithInput(
      `${PASSWORD}\n`,
      'users',
      'create',
      '--email',
      unknown,
      '--password',
      '-',
      '--role',
      'root',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('unknown role root');
    expect(await server.gatehouse.users.findByEmail(unknown)).toBeUndefined();
  });

  it('unlocks a locked account with `users unlock`: the right password works again, and the event names the OS user', async () => {
    const user = await existingAccount(uniqueEmail('locked'));
    // Enough failures for a lock of about a minute, longer than a command takes to start.
    for (let attempt = 0; attempt < 7; attempt++) await login(user.email, 'not the password at all');
    expect((await login(user.email)).body.code).toBe('invalid_credentials');

    const unlocked = await cli('users', 'unlock', '--email', user.email.toUpperCase(), '--json');
    expect(unlocked.code, unlocked.stderr).toBe(0);
    const output = JSON.parse(unlocked.stdout);
    expect(output.user.id).toBe(user.id);
    expect(Date.parse(output.was_locked_until)).toBeGreaterThan(Date.now());
    expect((await login(user.email)).status).toBe(200);
    const [event] = await eventsOf('user.unlock', user.id);
    expect(event).toMatchObject({ actor_id: null, detail: { via: 'cli', os_user: OS_USER } });

    const missing = await cli('users', 'unlock', '--email', uniqueEmail('nobody'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('user_not_found');
  });
});

/** A terminal whose keys are typed by the test: the question goes to `shown`, nothing typed is echoed. */
function fakeTerminal() {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const prompt = new PassThrough();
  let shown = '';
  prompt.setEncoding('utf8').on('data', (chunk: string) => {
    shown += chunk;
  });
  const terminal: Terminal = { input, prompt };
  return {
    terminal,
    type: (keys: string) => input.write(keys),
    endInput: (keys: string) => input.end(keys),
    shown: () => shown,
  };
}

describe('the password prompt of `admin create` and `users create`', () => {
  it('asks twice at a terminal, and shows the questions but not what is typed', async () => {
    const { terminal, type, shown } = fakeTerminal();
    const asked = newAccountPassword(undefined, terminal);
    type('hidden words here\r');
    type('hidden words here\r');
    expect(await asked).toBe('hidden words here');
    expect(shown()).toContain('New password: ');
    expect(shown()).toContain('Same password again: ');
    expect(shown()).not.toContain('hidden');
  });

  it('refuses two entries that differ, and an input that ends before an answer', async () => {
    const mistyped = fakeTerminal();
    const asked = newAccountPassword(undefined, mistyped.terminal);
    mistyped.type('first try\rfirst tyr\r');
    await expect(asked).rejects.toMatchObject({
      code: 'validation_failed',
      detail: 'password: the two entries differ',
    });

    const ended = fakeTerminal();
    const abandoned = newAccountPassword(undefined, ended.terminal);
    ended.endInput('only once\r');
    await expect(abandoned).rejects.toMatchObject({ detail: 'password: none was entered' });
  });

  it('reads `-` from standard input without its final line break, keeping every other character', async () => {
    const input = new PassThrough();
    input.end('  two spaces either side  \r\n');
    expect(await newAccountPassword('-', { input, prompt: new PassThrough() })).toBe(
      '  two spaces either side  ',
    );
  });
});
