import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { DatabaseTarget } from '../store/database.js';
import type { Config, ConfigFlags, MasterKeySource, Settings } from './config.js';
import { ConfigError, parseUrl } from './parse.js';
import { type Env, readSettings } from './read-settings.js';

export type { ConfigFlags } from './config.js';

function databaseTarget(raw: string | undefined, dataDir: string, cwd: string): DatabaseTarget {
  if (!raw) return { dialect: 'sqlite', path: path.join(dataDir, 'gatehouse.db') };
  if (/^postgres(ql)?:\/\//.test(raw)) {
    parseUrl('GATEHOUSE_DATABASE_URL', raw, ['postgres:', 'postgresql:']);
    return { dialect: 'postgres', url: raw };
  }
  if (/^(mysql|mariadb):\/\//.test(raw)) {
    const url = parseUrl('GATEHOUSE_DATABASE_URL', raw, ['mysql:', 'mariadb:']);
    if (url.pathname.length <= 1) {
      throw new ConfigError(
        'GATEHOUSE_DATABASE_URL names no MySQL/MariaDB database (mysql://user@host:3306/DATABASE)',
      );
    }
    return { dialect: 'mysql', url: raw };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new ConfigError(
      `GATEHOUSE_DATABASE_URL must be a file path, sqlite:PATH, postgres://… or mysql://… (got "${raw.split('://')[0]}://…")`,
    );
  }
  const file = raw.startsWith('sqlite:') ? raw.slice('sqlite:'.length) : raw;
  if (!file) throw new ConfigError('GATEHOUSE_DATABASE_URL names no SQLite file (got "sqlite:")');
  return { dialect: 'sqlite', path: path.resolve(cwd, file) };
}

function masterKeySource(settings: Settings, dataDir: string, cwd: string): MasterKeySource {
  if (settings.masterKey && settings.masterKeyFile) {
    throw new ConfigError('Set GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE, not both');
  }
  if (settings.masterKey) {
    return { kind: 'value', value: settings.masterKey, origin: 'GATEHOUSE_MASTER_KEY' };
  }
  if (settings.masterKeyFile) {
    return {
      kind: 'file',
      path: path.resolve(cwd, settings.masterKeyFile),
      origin: 'GATEHOUSE_MASTER_KEY_FILE',
      createIfMissing: false,
    };
  }
  return {
    kind: 'file',
    path: path.join(dataDir, 'master.key'),
    origin: 'data directory',
    createIfMissing: true,
  };
}

/** GATEHOUSE_PUBLIC_URL, or else the address Gatehouse listens on (loopback for the wildcard address). */
function publicUrlOf(settings: Settings): URL {
  if (settings.publicUrl) return new URL(settings.publicUrl);
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const listening = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${settings.port}`;
  if (!URL.canParse(listening)) {
    throw new ConfigError(`GATEHOUSE_HOST must be a host name or IP address (got "${settings.host}")`);
  }
  return new URL(listening);
}

/**
 * Listening on every interface without GATEHOUSE_PUBLIC_URL: the default issuer then names this host's
 * loopback (or no host at all), which no other machine reaches, and tokens and discovery name it.
 */
function unsetPublicUrl(settings: Settings, publicUrl: URL): string | undefined {
  if (settings.publicUrl || !['0.0.0.0', '::'].includes(settings.host)) return undefined;
  return `GATEHOUSE_PUBLIC_URL is not set while listening on ${settings.host}: the issuer defaults to ${publicUrl.href}, which other machines cannot reach; set it to the URL clients use`;
}

/** The public URL's host names the installation unless a name is set; an IPv6 host (colons) cannot. */
function nameFromHost(publicUrl: URL): string {
  const host = publicUrl.hostname;
  return host && !host.includes(':') ? host : 'Gatehouse';
}

/** Production refuses a key that would be lost with the data directory, and tokens sent in the clear. */
function refuseUnsafeProduction(
  masterKey: MasterKeySource,
  publicUrl: URL,
  publicUrlProblem: string | undefined,
): void {
  if (masterKey.kind === 'file' && masterKey.origin === 'data directory') {
    throw new ConfigError(
      'GATEHOUSE_ENV=production needs GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE: refusing to start (tokens must survive restarts)',
    );
  }
  if (publicUrlProblem) throw new ConfigError(`${publicUrlProblem} (refusing to start in production)`);
  if (publicUrl.protocol !== 'https:') {
    throw new ConfigError(
      `GATEHOUSE_ENV=production needs an https GATEHOUSE_PUBLIC_URL (got "${publicUrl.href}")`,
    );
  }
}

/** Freezes `value` and everything it holds, so nothing can change the configuration after start. */
function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object') {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads flags and GATEHOUSE_* variables once (settings.ts declares every one), works out the values that
 * depend on several of them, and returns the result deep-frozen.
 * Throws ConfigError with one line naming the setting at fault.
 */
export function loadConfig(options: { env?: Env; flags?: ConfigFlags; cwd?: string } = {}): Readonly<Config> {
  const cwd = options.cwd ?? process.cwd();
  const settings = readSettings(options.env ?? process.env, options.flags ?? {});
  // Settings that feed derived values stay out of Config; the others pass through as read.
  const {
    name,
    databaseUrl,
    masterKeyFile,
    tokenAudience,
    shutdownDrainSeconds,
    passwordHashConcurrency,
    passwordHashQueue,
    ...direct
  } = settings;
  const dataDir = path.resolve(cwd, settings.dataDir);
  const masterKey = masterKeySource(settings, dataDir, cwd);
  const publicUrl = publicUrlOf(settings);
  const publicUrlProblem = unsetPublicUrl(settings, publicUrl);
  if (settings.env === 'production') refuseUnsafeProduction(masterKey, publicUrl, publicUrlProblem);
  const issuer = publicUrl.href.replace(/\/$/, '');
  return deepFreeze({
    ...direct,
    dataDir,
    database: databaseTarget(databaseUrl, dataDir, cwd),
    masterKey,
    publicUrl: publicUrl.href,
    name: name ?? nameFromHost(publicUrl),
    issuer,
    tokenAudience: tokenAudience ?? [issuer],
    // Behind a balancer, readiness must be seen failing before the listener closes; alone, stop at once.
    shutdownDrainSeconds: shutdownDrainSeconds ?? (settings.env === 'production' ? 5 : 0),
    passwordHashing: {
      concurrency: passwordHashConcurrency ?? Math.max(1, availableParallelism() - 1),
      maxQueue: passwordHashQueue,
    },
    warnings: publicUrlProblem ? [publicUrlProblem] : [],
  });
}
