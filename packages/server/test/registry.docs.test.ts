import { readFile } from 'node:fs/promises';
import { reasonCodes } from '@gatehouse/codes';
import { describe, expect, it } from 'vitest';
import { renderReasonCodesMarkdown } from '../src/errors/reason-codes-doc.js';

describe('the reason-code registry', () => {
  it('matches docs/reason-codes.md (run `npm run docs` after changing the registry)', async () => {
    const published = await readFile(new URL('../../../docs/reason-codes.md', import.meta.url), 'utf8');
    expect(published).toBe(renderReasonCodesMarkdown());
  });

  it('gives every code a status, a title, a hint and a client action', () => {
    const actions = ['refresh', 'retry', 'sign_out', 'reauthenticate', 'fix_request', 'contact_admin'];
    for (const [code, entry] of Object.entries(reasonCodes)) {
      expect(code).toMatch(/^[a-z][a-z_]+$/);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.title.length, code).toBeGreaterThan(5);
      expect(entry.hint.length, code).toBeGreaterThan(5);
      expect(actions).toContain(entry.action);
    }
  });
});
