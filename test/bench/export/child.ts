/**
 * One side of the export benchmark, in its own process so its peak RSS is its own:
 * `child.ts <databaseUrl> stream|naive <commanderUsername>`; prints one JSON line.
 */
import { openDatabase, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { csvHeader, csvLines, exportCases } from '../../../server/src/domain/evaluation/case-export';
import { startTestServer } from '../../helpers/server';

const [url, mode, username] = process.argv.slice(2) as [string, 'stream' | 'naive', string];
const database = await openDatabase({ url, poolSize: 2 });
const mb = (bytes: number) => bytes / 1024 / 1024;
let rowsOut = 0;
let bytes = 0;
let seconds = 0;
let baselineRssMb = 0;

if (mode === 'stream') {
  const server = await startTestServer(database);
  const token = await server.login(username);
  baselineRssMb = mb(process.memoryUsage().rss);
  const started = performance.now();
  const response = await fetch(`${server.url}/export/cases.csv`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (response.status !== 200) throw new Error(`export answered ${response.status}`);
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    for (const b of value) if (b === 10) rowsOut++;
  }
  seconds = (performance.now() - started) / 1000;
  rowsOut -= 1; // the header
  await server.close();
} else {
  const [user] = await rows<{ id: number; regionId: number }>(
    database.db,
    sql`SELECT id::int AS id, region_id::int AS "regionId" FROM users WHERE username = ${username}`,
  );
  baselineRssMb = mb(process.memoryUsage().rss);
  const started = performance.now();
  // Everything at once: one batch as large as the table, then one CSV string.
  let text = csvHeader();
  for await (const batch of exportCases(
    database,
    { id: user!.id, role: 'COMMANDER', regionId: user!.regionId },
    {},
    {
      batchSize: 100_000_000,
    },
  )) {
    rowsOut += batch.length;
    text += csvLines(batch);
  }
  bytes = Buffer.byteLength(text);
  seconds = (performance.now() - started) / 1000;
}
await database.close();
const peakRssMb = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ rows: rowsOut, bytes, seconds, peakRssMb, baselineRssMb }));
