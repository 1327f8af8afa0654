// The server bench's results from bench/server.md, for runs made before
// `npm run bench:server` wrote bench/server.json: its table is found by its
// column names (not by position), and every cell must be a number.

import { ResultShapeError } from './shape';
import type { ServerCellView, ServerResults } from './results';

const REQUIRED_COLUMNS = ['connections', 'client', 'req/s', 'p50 ms', 'p99 ms'] as const;

function cellsOf(row: string): string[] {
  return row.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((cell) => cell.trim());
}

/** A number in a table cell, bold markers and thousands separators aside. */
function numberIn(file: string, where: string, cell: string): number {
  const value = Number(cell.replace(/\*\*/g, '').replace(/,/g, '').replace(/×$/, ''));
  if (cell === '' || !Number.isFinite(value)) throw new ResultShapeError(file, where, 'a number', cell);
  return value;
}

export function parseServerMarkdown(file: string, markdown: string): ServerResults {
  const lines = markdown.split('\n');
  const headerIndex = lines.findIndex((row) => row.trim().startsWith('|') && REQUIRED_COLUMNS.every((column) => cellsOf(row).includes(column)));
  if (headerIndex < 0) throw new ResultShapeError(file, 'table', `a table with the columns ${REQUIRED_COLUMNS.join(', ')}`, undefined);
  const header = cellsOf(lines[headerIndex]);
  const column = (name: string) => header.indexOf(name);
  const cells: ServerCellView[] = [];
  for (let index = headerIndex + 2; index < lines.length && lines[index].trim().startsWith('|'); index++) {
    const row = cellsOf(lines[index]);
    const where = `table row ${index - headerIndex - 1}`;
    const optional = (name: string) => (column(name) >= 0 && row[column(name)] !== '' ? numberIn(file, `${where}, ${name}`, row[column(name)]) : null);
    cells.push({
      connections: numberIn(file, `${where}, connections`, row[column('connections')]),
      client: row[column('client')],
      processes: optional('processes'),
      requestsPerSecond: numberIn(file, `${where}, req/s`, row[column('req/s')]),
      p50: numberIn(file, `${where}, p50 ms`, row[column('p50 ms')]),
      p99: numberIn(file, `${where}, p99 ms`, row[column('p99 ms')]),
      peakRssMiB: optional('peak RSS MiB'),
      repeats: optional('repeats'),
      recordedRatioToGzip: optional('vs gzip'),
    });
  }
  if (!cells.length) throw new ResultShapeError(file, 'table', 'at least one row', undefined);
  const date = /\(scripts\/bench-server\.ts\),\s*(\d{4}-\d{2}-\d{2})/.exec(markdown)?.[1] ?? null;
  const machine = /^Machine:\s*(.+?)\.?$/m.exec(markdown)?.[1] ?? null;
  return { source: 'server.md', date, machine, cells };
}
