import { readFile, writeFile } from 'node:fs/promises';
import { withFailureContract } from '../packages/client/dist/failure-contract-doc.js';
import { renderReasonCodesMarkdown } from '../packages/server/dist/errors/reason-codes-doc.js';

await writeFile(new URL('../docs/reason-codes.md', import.meta.url), renderReasonCodesMarkdown());

const sdkDoc = new URL('../docs/sdk.md', import.meta.url);
await writeFile(sdkDoc, withFailureContract(await readFile(sdkDoc, 'utf8')));
