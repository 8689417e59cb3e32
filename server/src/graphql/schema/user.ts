/** Users, signing in, and `me`. */
import { login } from '../../domain/auth/login';
import { NotFound } from '../../domain/errors';
import type { UserView } from '../../domain/people/users';
import { builder } from '../builder';
import { actorOf } from '../context';
import { DepartmentRef } from './department';
import { RegionRef } from './region';
import { RoleEnum } from './scalars';

export const UserRef = builder.objectRef<UserView>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.exposeString('username'),
    displayName: t.exposeString('displayName'),
    role: t.field({ type: RoleEnum, resolve: (u) => u.role }),
    region: t.field({
      type: RegionRef,
      description: 'The region scope: the user sees and acts only inside it.',
      resolve: async (u, _args, ctx) => (await ctx.loaders.regions.load(u.regionId))!,
    }),
    department: t.field({
      type: DepartmentRef,
      nullable: true,
      resolve: (u, _args, ctx) => (u.departmentId ? ctx.loaders.departments.load(u.departmentId) : null),
    }),
  }),
});

const LoginPayload = builder.objectRef<{ token: string; userId: number }>('LoginPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as `Authorization: Bearer <token>`.' }),
    user: t.field({
      type: UserRef,
      resolve: async (p, _args, ctx) => (await ctx.loaders.users.load(p.userId))!,
    }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: UserRef,
    description: 'The signed-in user.',
    authScopes: { loggedIn: true },
    resolve: async (_root, _args, ctx) => {
      const user = await ctx.loaders.users.load(actorOf(ctx).id);
      if (!user) throw new NotFound('your user no longer exists');
      return user;
    },
  }),
);

builder.mutationField('login', (t) =>
  t.field({
    type: LoginPayload,
    description: 'Signs in; a wrong password and an unknown user fail alike with UNAUTHENTICATED.',
    args: {
      username: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
    },
    resolve: async (_root, args, ctx) => {
      const { token, actor } = await login(
        { db: ctx.db, tokens: ctx.tokens, limiter: ctx.loginLimiter },
        args,
        ctx.clientAddress,
      );
      return { token, userId: actor.id };
    },
  }),
);
