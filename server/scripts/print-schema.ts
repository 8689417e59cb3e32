/** Prints the GraphQL schema to server/schema.graphql (committed, so every API change shows in review). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printedSchema } from '../src/graphql/print';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
writeFileSync(target, printedSchema());
console.log(`wrote ${target}`);
