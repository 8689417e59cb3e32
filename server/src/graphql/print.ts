/** The schema as SDL, exactly as `server/schema.graphql` holds it. */
import { createRequire } from 'node:module';
import { schema } from './schema';

// graphql 16 ships CommonJS and ESM builds; Pothos builds the schema with the one Node resolves
// (CommonJS), while a bundler-style resolver (vitest) would hand this file the ESM one, whose
// `instanceof` checks reject the schema. Asking Node for it keeps both on one instance.
const { lexicographicSortSchema, printSchema } = createRequire(import.meta.url)(
  'graphql',
) as typeof import('graphql');

export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
