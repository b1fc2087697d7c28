import { createGatehouseClient, GatehouseClientError, localStorageStorage } from '@gatehouse/client';

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;

function setStatus(text, state = 'ok') {
  $('status').textContent = text;
  $('status').dataset.state = state;
}

function log(text) {
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('log').append(item);
}

const gatehouse = createGatehouseClient({
  baseUrl: location.origin,
  storage: localStorageStorage(),
  // The incident, made visible: a failed check while the server restarts is a wait, not a sign-out.
  onRetry: ({ status, attempt, delayMs }) =>
    setStatus(
      `Server restarting — retrying (${status ? `HTTP ${status}` : 'no connection'}, attempt ${attempt}, next in ${Math.round(delayMs / 100) / 10} s), still signed in`,
      'retrying',
    ),
});

function show(view) {
  $('sign-in').hidden = view !== 'sign-in';
  $('mfa').hidden = view !== 'mfa';
  $('signed-in').hidden = view !== 'signed-in';
}

gatehouse.onAuthStateChange(({ type, code }) => {
  log(code ? `${type} (${code})` : type);
  if (type !== 'signed_out') return;
  show('sign-in');
  setStatus(code ? `Signed out by the server: ${code}` : 'Signed out', 'signed-out');
});

async function refreshView() {
  const session = await gatehouse.getSession();
  if (!session) return;
  try {
    const [me, notes] = await Promise.all([gatehouse.fetch('/v1/auth/me'), gatehouse.fetch('/api/notes')]);
    // Signed out while these were on their way: the sign-out already said so.
    if (!(await gatehouse.getSession())) return;
    if (!me.ok || !notes.ok)
      return setStatus(`The server answered ${me.ok ? notes.status : me.status}`, 'retrying');
    $('who').textContent = (await me.json()).email;
    $('notes').replaceChildren(
      ...(await notes.json()).notes.map((note) =>
        Object.assign(document.createElement('li'), { textContent: note.text }),
      ),
    );
    setStatus(`Signed in as ${$('who').textContent} — all good`);
  } catch (error) {
    if (!(error instanceof GatehouseClientError)) throw error;
    setStatus(
      `Server still unreachable (${error.code ?? 'network'}) — will keep trying, still signed in`,
      'retrying',
    );
  }
}

let pendingMfa;

$('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const input = { email: String(form.get('email')), password: String(form.get('password')) };
  try {
    const result =
      event.submitter?.value === 'sign-up' ? await gatehouse.signUp(input) : await gatehouse.signIn(input);
    if (result.status === 'mfa_required') {
      pendingMfa = result;
      return show('mfa');
    }
    show('signed-in');
    await refreshView();
  } catch (error) {
    if (!(error instanceof GatehouseClientError)) throw error;
    setStatus(`${error.code ?? 'error'}: ${error.hint ?? error.message}`, 'signed-out');
  }
});

$('mfa').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await pendingMfa.verify(String(new FormData(event.target).get('code')));
    show('signed-in');
    await refreshView();
  } catch (error) {
    if (!(error instanceof GatehouseClientError)) throw error;
    setStatus(`${error.code}: ${error.hint ?? error.message}`, 'signed-out');
  }
});

$('restart').addEventListener('click', async () => {
  await fetch('/demo/restart-gatehouse', { method: 'POST' });
  log('Gatehouse restart requested');
});

$('sign-out').addEventListener('click', () => gatehouse.signOut());

const session = await gatehouse.getSession();
show(session ? 'signed-in' : 'sign-in');
setStatus(session ? 'Signed in' : 'Signed out — sign up or sign in', session ? 'ok' : 'signed-out');
await refreshView();
setInterval(refreshView, POLL_MS);
