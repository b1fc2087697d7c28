import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { settingEntries } from '../src/config/settings.js';
import { renderSettingsTable, SETTINGS_TABLE_END, SETTINGS_TABLE_START } from '../src/config/settings-doc.js';

const SOURCE = new URL('../src/', import.meta.url);

/** Every TypeScript file of the server, by its path under src/. */
async function sources(): Promise<{ file: string; text: string }[]> {
  const files = (await readdir(SOURCE, { recursive: true })).filter((file) => file.endsWith('.ts'));
  return Promise.all(
    files.map(async (file) => ({ file, text: await readFile(new URL(file, SOURCE), 'utf8') })),
  );
}

describe('the settings schema', () => {
  it('matches the settings table in README.md (run `npm run docs` after changing a setting)', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf(SETTINGS_TABLE_START);
    const end = readme.indexOf(SETTINGS_TABLE_END);
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start + SETTINGS_TABLE_START.length, end)).toBe(`\n${renderSettingsTable()}\n`);
  });

  it('gives every setting its own variable and a one-line meaning', () => {
    const variables = settingEntries.map(([, setting]) => setting.env);
    expect(new Set(variables).size).toBe(variables.length);
    for (const [key, setting] of settingEntries) expect(setting.description, key).toMatch(/^[^\n]{10,}$/);
  });

  // Regression guard: a variable read or named outside the schema is missing from README and unvalidated.
  it('declares every GATEHOUSE_* variable the server names', async () => {
    const declared = new Set<string>(settingEntries.map(([, setting]) => setting.env));
    for (const { file, text } of await sources()) {
      for (const [name] of text.matchAll(/\bGATEHOUSE_[A-Z][A-Z0-9_]*/g)) {
        expect(declared.has(name), `${name} in src/${file}`).toBe(true);
      }
    }
  });

  it('takes configuration from process.env in loadConfig only', async () => {
    const readers = (await sources()).filter(({ text }) => text.includes('process.env'));
    expect(readers.map(({ file }) => file)).toEqual(['config/load-config.ts']);
  });
});
