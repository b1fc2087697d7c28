import { readFile, writeFile } from 'node:fs/promises';

/**
 * Puts `markdown` (which starts with `heading`) in place of that heading's section of the results file —
 * from the heading to the next `## ` heading — or at the end, keeping every other section.
 */
export async function replaceSection(file, heading, markdown) {
  const current = await readFile(file, 'utf8').catch((error) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const start = current.indexOf(`\n${heading}\n`);
  if (start === -1) {
    await writeFile(file, `${current.trimEnd() ? `${current.trimEnd()}\n\n` : ''}${markdown}`);
    return;
  }
  const next = current.indexOf('\n## ', start + heading.length + 1);
  const before = current.slice(0, start).trimEnd();
  const after = next === -1 ? '' : current.slice(next).trim();
  await writeFile(file, `${[before, markdown.trimEnd(), after].filter(Boolean).join('\n\n')}\n`);
}
