/** The Pothos schema builder: set-up only. Types live one per file under ./schema. */
import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { Forbidden, Unauthenticated } from '../domain/errors';
import type { GraphQLContext } from './context';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  Scalars: {
    ID: { Input: string; Output: string | number };
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  AuthScopes: { loggedIn: boolean };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (context) => ({ loggedIn: context.actor !== undefined }),
    // Roles and region scope are checked by the domain functions; here only "signed in at all".
    unauthorizedError: (_parent, context) =>
      context.actor ? new Forbidden('not allowed') : new Unauthenticated('sign in first'),
  },
  relay: {
    // Ids stay the database's ids (the contract's `ID`), so no Node interface or global ids.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    cursorType: 'String',
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
