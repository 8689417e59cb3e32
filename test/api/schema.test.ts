/** The committed server/schema.graphql is exactly the schema the code builds, so API drift fails CI. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printedSchema } from '@citygrid/server';
import { expect, test } from 'vitest';

test('server/schema.graphql matches the printed schema (run `pnpm --filter @citygrid/server print-schema`)', () => {
  const committed = readFileSync(
    fileURLToPath(new URL('../../server/schema.graphql', import.meta.url)),
    'utf8',
  );
  expect(printedSchema()).toBe(committed);
});

test('the contract’s names are in the schema', () => {
  const sdl = printedSchema();
  for (const needle of [
    'login(password: String!, username: String!): LoginPayload!',
    'reportCase(input: ReportCaseInput!): Case!',
    'cases(after: String, filter: CaseFilter, first: Int): CaseConnection!',
    'gridAt(location: PointInput!): GridCell',
    'crs: Crs = WGS84',
    'scalar DateTime',
    'scalar JSON',
  ]) {
    expect(sdl).toContain(needle);
  }
});
