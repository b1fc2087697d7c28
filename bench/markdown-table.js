/**
 * A Markdown table padded the way Biome formats Markdown, so `biome check` accepts the RESULTS.md each run
 * writes. `columns`: `{ title, cell(row) → string, right? }`.
 */
export function markdownTable(columns, rows) {
  const body = rows.map((row) => columns.map((column) => column.cell(row)));
  const widths = columns.map((column, i) =>
    Math.max(column.title.length, ...body.map((cells) => cells[i].length)),
  );
  const line = (cells) =>
    `| ${cells.map((cell, i) => (columns[i].right ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join(' | ')} |`;
  const rule = widths.map((width, i) => (columns[i].right ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width)));
  return [columns.map((column) => column.title), rule, ...body].map(line).join('\n');
}
