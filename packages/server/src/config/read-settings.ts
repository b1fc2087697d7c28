import { KindGuard } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ConfigFlags, Settings } from './config.js';
import { ConfigError, durationSeconds, parseList } from './parse.js';
import { accepted, type Setting } from './setting-kinds.js';
import { settingEntries } from './settings.js';

export type Env = Record<string, string | undefined>;

/** One line naming the setting, what it accepts and the text it refused. */
function refuse(name: string, raw: string, expectation: string): never {
  throw new ConfigError(`${name} ${expectation} (got "${raw}")`);
}

function readUrl(setting: Setting, name: string, raw: string): string {
  const url = URL.canParse(raw.trim()) ? new URL(raw.trim()) : undefined;
  if (!url || !setting.protocols?.includes(url.protocol)) refuse(name, raw, `must be ${accepted(setting)}`);
  return url.href;
}

function readProxies(name: string, raw: string): unknown {
  if (raw === '' || raw === 'off' || raw === 'false') return false;
  if (raw === 'true')
    refuse(name, raw, 'must be a hop count or a list of CIDRs; true would believe any client');
  return /^\d+$/.test(raw) ? Number(raw) : parseList(raw);
}

/** The typed value of `raw`, before the schema checks its bounds. */
function decode(setting: Setting, name: string, raw: string): unknown {
  switch (setting.reads) {
    case 'integer':
      return /^\d+$/.test(raw.trim()) ? Number(raw) : refuse(name, raw, `must be ${accepted(setting)}`);
    case 'duration':
      return durationSeconds(raw) ?? refuse(name, raw, 'must be a duration such as 600, 30s, 10m or 7d');
    case 'choice':
      return raw.trim();
    case 'url':
      return readUrl(setting, name, raw);
    case 'list':
      return parseList(raw);
    case 'proxies':
      return readProxies(name, raw);
    case 'text':
      return raw;
  }
}

/** Why a decoded value fails the schema. A duration says which bound, since its text was well formed. */
function outOfBounds(setting: Setting, value: unknown): string {
  if (setting.reads !== 'duration') return `must be ${accepted(setting)}`;
  return (value as number) > 0 ? `must be at most ${setting.maximum} seconds` : 'must be greater than zero';
}

function readSetting(setting: Setting, flag: string | undefined, variable: string | undefined): unknown {
  const raw = flag ?? variable;
  // An empty variable unsets a setting without a fixed default: GATEHOUSE_REDIS_URL= means no Redis.
  if (raw === undefined || (raw === '' && KindGuard.IsOptional(setting))) return Value.Clone(setting.default);
  const name = flag === undefined ? setting.env : `${setting.env} (${setting.flag})`;
  const value = decode(setting, name, raw);
  if (!Value.Check(setting, value)) refuse(name, raw, outOfBounds(setting, value));
  return value;
}

/**
 * Every setting of the schema, from its flag or else its variable, or its default.
 * Throws ConfigError naming the first setting at fault.
 */
export function readSettings(env: Env, flags: ConfigFlags): Settings {
  const entries = settingEntries.map(([key, setting]) => {
    const flag = setting.flag ? flags[key as keyof ConfigFlags] : undefined;
    return [key, readSetting(setting, flag, env[setting.env])];
  });
  return Object.fromEntries(entries) as Settings;
}
