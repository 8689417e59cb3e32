/** Administration over GraphQL (ADMIN only): Open311 API keys and the admin audit log. */
import {
  type ApiKeyView,
  issueApiKey,
  listApiKeys,
  requireAdmin,
  revokeApiKey,
} from '../../domain/admin/api-keys';
import { type AuditEntry, recentAdminActions } from '../../domain/admin/audit';
import { BadUserInput } from '../../domain/errors';
import { builder } from '../builder';
import { actorOf } from '../context';
import { UserRef } from './user';

const ApiKeyRef = builder.objectRef<ApiKeyView>('ApiKey').implement({
  description: 'An Open311 API key (the key itself is shown only when issued).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
  }),
});

const IssuedApiKeyRef = builder.objectRef<{ apiKey: ApiKeyView; key: string }>('IssuedApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }),
    key: t.exposeString('key', { description: 'The key in the clear: shown this once, store it now.' }),
  }),
});

const AdminAuditEntryRef = builder.objectRef<AuditEntry>('AdminAuditEntry').implement({
  description: 'One administrative action: who, what, on what, when.',
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.exposeString('action'),
    target: t.exposeString('target', { nullable: true }),
    detail: t.field({ type: 'JSON', resolve: (e) => e.detail }),
    actor: t.field({
      type: UserRef,
      nullable: true,
      description: 'Null for actions run from the command line.',
      resolve: (e, _args, ctx) => (e.actorId ? ctx.loaders.users.load(e.actorId) : null),
    }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

function idOf(id: string | number): number {
  const n = Number(id);
  if (!Number.isSafeInteger(n) || n <= 0) throw new BadUserInput(`"${id}" is not an id`, { field: 'id' });
  return n;
}

builder.queryField('apiKeys', (t) =>
  t.field({
    type: [ApiKeyRef],
    description: 'Open311 API keys, newest first (ADMIN).',
    authScopes: { loggedIn: true },
    resolve: (_root, _args, ctx) => listApiKeys(ctx.db, { kind: 'user', actor: actorOf(ctx) }),
  }),
);

builder.queryField('adminAudit', (t) =>
  t.field({
    type: [AdminAuditEntryRef],
    description: 'The admin audit log, newest first (ADMIN); `limit` at most 1000 (default 100).',
    authScopes: { loggedIn: true },
    args: { limit: t.arg.int({ required: false }) },
    resolve: (_root, args, ctx) => {
      requireAdmin({ kind: 'user', actor: actorOf(ctx) });
      return recentAdminActions(ctx.db, args.limit ?? 100);
    },
  }),
);

builder.mutationField('issueApiKey', (t) =>
  t.field({
    type: IssuedApiKeyRef,
    description: 'Issues an Open311 API key (ADMIN). The key is in the answer and nowhere else.',
    authScopes: { loggedIn: true },
    args: { name: t.arg.string({ required: true, description: 'Who the key is for.' }) },
    resolve: (_root, args, ctx) =>
      issueApiKey(ctx.db, { kind: 'user', actor: actorOf(ctx) }, { name: args.name }),
  }),
);

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: ApiKeyRef,
    description: 'Revokes an Open311 API key at once (ADMIN).',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => revokeApiKey(ctx.db, { kind: 'user', actor: actorOf(ctx) }, idOf(args.id)),
  }),
);
