import { writeFile } from 'node:fs/promises';
import { renderReasonCodesMarkdown } from '../packages/server/dist/errors/reason-codes-doc.js';

await writeFile(new URL('../docs/reason-codes.md', import.meta.url), renderReasonCodesMarkdown());
