import { formatDuration } from './parse.js';
import { accepted, type Setting } from './setting-kinds.js';
import { settingEntries } from './settings.js';

export const SETTINGS_TABLE_START = '<!-- settings:start -->';
export const SETTINGS_TABLE_END = '<!-- settings:end -->';

const code = (text: string) => `\`${text}\``;
const cell = (text: string) => text.replaceAll('|', '\\|');

function defaultOf(setting: Setting): string {
  if (setting.derivedDefault) return setting.derivedDefault;
  const value: unknown = setting.default;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return '—';
  if (value === false) return code('off');
  return code(setting.reads === 'duration' ? formatDuration(Number(value)) : String(value));
}

function row(setting: Setting): string {
  const variable = setting.flag ? `${code(setting.env)} (${code(setting.flag)})` : code(setting.env);
  return `| ${variable} | ${cell(accepted(setting, code))} | ${cell(defaultOf(setting))} | ${cell(setting.description)} |`;
}

/** README.md's settings table, rendered from the schema so the two cannot disagree (a test compares them). */
export function renderSettingsTable(): string {
  return [
    '| variable | accepts | default | meaning |',
    '|---|---|---|---|',
    ...settingEntries.map(([, setting]) => row(setting)),
  ].join('\n');
}

/** `readme` with the table between its settings markers replaced by the current rendering. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(SETTINGS_TABLE_START);
  const end = readme.indexOf(SETTINGS_TABLE_END);
  if (start < 0 || end < start)
    throw new Error('README.md has no settings markers to write the table between');
  return `${readme.slice(0, start + SETTINGS_TABLE_START.length)}\n${renderSettingsTable()}\n${readme.slice(end)}`;
}
