import { readFile, writeFile } from 'node:fs/promises';
import { withFailureContract } from '../packages/client/dist/failure-contract-doc.js';
import { withSettingsTable } from '../packages/server/dist/config/settings-doc.js';
import { renderReasonCodesMarkdown } from '../packages/server/dist/errors/reason-codes-doc.js';

await writeFile(new URL('../docs/reason-codes.md', import.meta.url), renderReasonCodesMarkdown());

const sdkDoc = new URL('../docs/sdk.md', import.meta.url);
await writeFile(sdkDoc, withFailureContract(await readFile(sdkDoc, 'utf8')));

const readme = new URL('../README.md', import.meta.url);
await writeFile(readme, withSettingsTable(await readFile(readme, 'utf8')));
