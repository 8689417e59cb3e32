/**
 * Administration over GraphQL (ADMIN only): Open311 API keys, the admin audit log, and what the
 * web admin area edits — categories and deadlines, departments, users, alarm rules, the calendar.
 */
import {
  type ApiKeyView,
  issueApiKey,
  listApiKeys,
  requireAdmin,
  revokeApiKey,
} from '../../domain/admin/api-keys';
import { type AuditEntry, recentAdminActions } from '../../domain/admin/audit';
import {
  type AdminAlarmRuleView,
  type AdminCategoryView,
  type AdminUserView,
  adminAlarmRules,
  adminCategories,
  adminUsers,
  type CalendarDayView,
  type CategoryDeadlineView,
  calendarDays,
  createDepartment,
  removeCalendarDay,
  setCalendarDay,
  setCategoryActive,
  setCategoryDeadline,
  setUserActive,
  updateAlarmRule,
} from '../../domain/admin/catalog';
import { createUser } from '../../domain/admin/users';
import { BadUserInput } from '../../domain/errors';
import { builder } from '../builder';
import { actorOf } from '../context';
import { DepartmentRef } from './department';
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

// ── Catalogue, people, alarm rules and the working calendar (the web admin area) ──

const caller = (ctx: Parameters<typeof actorOf>[0]) => ({ kind: 'user' as const, actor: actorOf(ctx) });

const CategoryDeadlineRef = builder.objectRef<CategoryDeadlineView>('CategoryDeadline').implement({
  description: 'A time limit of a category: per priority and stage, in working or wall-clock minutes.',
  fields: (t) => ({
    priority: t.exposeString('priority'),
    stage: t.exposeString('stage', { description: 'FILE, DISPATCH, HANDLE or VERIFY.' }),
    minutes: t.exposeInt('minutes'),
    workingTime: t.exposeBoolean('workingTime'),
  }),
});

const AdminCategoryRef = builder.objectRef<AdminCategoryView>('AdminCategory').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code'),
    kind: t.exposeString('kind'),
    name: t.exposeString('name'),
    nameEn: t.exposeString('nameEn'),
    majorName: t.exposeString('majorName'),
    active: t.exposeBoolean('active'),
    defaultPriority: t.exposeString('defaultPriority'),
    department: t.field({
      type: DepartmentRef,
      nullable: true,
      resolve: (c, _args, ctx) => (c.departmentId ? ctx.loaders.departments.load(c.departmentId) : null),
    }),
    deadlines: t.field({ type: [CategoryDeadlineRef], resolve: (c) => c.deadlines }),
  }),
});

const AdminUserRef = builder.objectRef<AdminUserView>('AdminUser').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.exposeString('username'),
    displayName: t.exposeString('displayName'),
    role: t.exposeString('role'),
    regionCode: t.exposeString('regionCode'),
    departmentCode: t.exposeString('departmentCode', { nullable: true }),
    active: t.exposeBoolean('active'),
  }),
});

const CreatedUserRef = builder.objectRef<{ user: AdminUserView; password: string }>('CreatedUser').implement({
  fields: (t) => ({
    user: t.field({ type: AdminUserRef, resolve: (p) => p.user }),
    password: t.exposeString('password', {
      description: 'Shown once: the given password or a generated one.',
    }),
  }),
});

const AdminAlarmRuleRef = builder.objectRef<AdminAlarmRuleView>('AdminAlarmRule').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    sensorKind: t.exposeString('sensorKind'),
    metric: t.exposeString('metric'),
    condition: t.exposeString('condition'),
    threshold: t.exposeFloat('threshold'),
    thresholdHigh: t.exposeFloat('thresholdHigh', { nullable: true }),
    clearThreshold: t.exposeFloat('clearThreshold', { nullable: true }),
    holdSeconds: t.exposeInt('holdSeconds'),
    severity: t.exposeString('severity'),
    opensCase: t.exposeBoolean('opensCase'),
    enabled: t.exposeBoolean('enabled'),
  }),
});

const CalendarDayRef = builder.objectRef<CalendarDayView>('CalendarDay').implement({
  description: 'A holiday, or a weekend day worked in exchange (调休).',
  fields: (t) => ({
    day: t.exposeString('day', { description: 'YYYY-MM-DD.' }),
    name: t.exposeString('name'),
    isWorkday: t.exposeBoolean('isWorkday'),
  }),
});

builder.queryFields((t) => ({
  adminCategories: t.field({
    type: [AdminCategoryRef],
    description: 'Every category with its deadlines, active or not (ADMIN).',
    authScopes: { loggedIn: true },
    resolve: (_root, _args, ctx) => adminCategories(ctx.db, caller(ctx)),
  }),
  adminUsers: t.field({
    type: [AdminUserRef],
    description: 'Every user (ADMIN).',
    authScopes: { loggedIn: true },
    resolve: (_root, _args, ctx) => adminUsers(ctx.db, caller(ctx)),
  }),
  adminAlarmRules: t.field({
    type: [AdminAlarmRuleRef],
    description: 'The alarm rules for whole sensor kinds (ADMIN).',
    authScopes: { loggedIn: true },
    resolve: (_root, _args, ctx) => adminAlarmRules(ctx.db, caller(ctx)),
  }),
  calendarDays: t.field({
    type: [CalendarDayRef],
    description: "The working calendar's exceptions in a year (ADMIN).",
    authScopes: { loggedIn: true },
    args: { year: t.arg.int({ required: true }) },
    resolve: (_root, args, ctx) => calendarDays(ctx.db, caller(ctx), args.year),
  }),
}));

builder.mutationFields((t) => ({
  setCategoryDeadline: t.boolean({
    description: 'Sets one deadline of a category; cases reported from now on use it (ADMIN).',
    authScopes: { loggedIn: true },
    args: {
      categoryId: t.arg.id({ required: true }),
      priority: t.arg.string({ required: true }),
      stage: t.arg.string({ required: true }),
      minutes: t.arg.int({ required: true }),
      workingTime: t.arg.boolean({ required: true }),
    },
    resolve: async (_root, args, ctx) => {
      await setCategoryDeadline(ctx.db, caller(ctx), {
        categoryId: idOf(args.categoryId),
        priority: args.priority as 'NORMAL',
        stage: args.stage as 'FILE',
        minutes: args.minutes,
        workingTime: args.workingTime,
      });
      return true;
    },
  }),
  setCategoryActive: t.boolean({
    authScopes: { loggedIn: true },
    args: { categoryId: t.arg.id({ required: true }), active: t.arg.boolean({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await setCategoryActive(ctx.db, caller(ctx), idOf(args.categoryId), args.active);
      return true;
    },
  }),
  createDepartment: t.field({
    type: DepartmentRef,
    description: 'A department serving the whole city (ADMIN).',
    authScopes: { loggedIn: true },
    args: {
      code: t.arg.string({ required: true }),
      name: t.arg.string({ required: true }),
      nameEn: t.arg.string({ required: true }),
      phone: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const { id } = await createDepartment(ctx.db, caller(ctx), {
        code: args.code,
        name: args.name,
        nameEn: args.nameEn,
        phone: args.phone ?? undefined,
      });
      return (await ctx.loaders.departments.load(id))!;
    },
  }),
  createUser: t.field({
    type: CreatedUserRef,
    description: 'A user with a region scope; a password is generated when none is given (ADMIN).',
    authScopes: { loggedIn: true },
    args: {
      username: t.arg.string({ required: true }),
      role: t.arg.string({ required: true }),
      regionCode: t.arg.string({ required: true }),
      departmentCode: t.arg.string({ required: false }),
      displayName: t.arg.string({ required: false }),
      password: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const actorId = requireAdmin(caller(ctx));
      const created = await createUser(
        ctx.db,
        {
          username: args.username,
          role: args.role as 'WORKER',
          regionCode: args.regionCode,
          departmentCode: args.departmentCode ?? undefined,
          displayName: args.displayName ?? undefined,
          password: args.password ?? undefined,
        },
        actorId,
      );
      const user = (await adminUsers(ctx.db, caller(ctx))).find((u) => u.id === created.id)!;
      return { user, password: created.password };
    },
  }),
  setUserActive: t.boolean({
    description:
      'Deactivated users cannot sign in, and the tokens they hold are refused from then on (ADMIN).',
    authScopes: { loggedIn: true },
    args: { userId: t.arg.id({ required: true }), active: t.arg.boolean({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await setUserActive(ctx.db, caller(ctx), idOf(args.userId), args.active);
      // Other instances hear of it by notice; this one knows before answering.
      await ctx.deactivatedUsers.refresh();
      return true;
    },
  }),
  updateAlarmRule: t.boolean({
    description: 'New thresholds apply to readings evaluated after the change (ADMIN).',
    authScopes: { loggedIn: true },
    args: {
      id: t.arg.id({ required: true }),
      threshold: t.arg.float({ required: true }),
      clearThreshold: t.arg.float({ required: false }),
      holdSeconds: t.arg.int({ required: true }),
      enabled: t.arg.boolean({ required: true }),
    },
    resolve: async (_root, args, ctx) => {
      await updateAlarmRule(ctx.db, caller(ctx), {
        id: idOf(args.id),
        threshold: args.threshold,
        clearThreshold: args.clearThreshold ?? null,
        holdSeconds: args.holdSeconds,
        enabled: args.enabled,
      });
      return true;
    },
  }),
  setCalendarDay: t.boolean({
    description: 'A holiday (isWorkday false) or an exchanged working day (ADMIN).',
    authScopes: { loggedIn: true },
    args: {
      day: t.arg.string({ required: true }),
      name: t.arg.string({ required: true }),
      isWorkday: t.arg.boolean({ required: true }),
    },
    resolve: async (_root, args, ctx) => {
      await setCalendarDay(ctx.db, caller(ctx), {
        day: args.day,
        name: args.name,
        isWorkday: args.isWorkday,
      });
      return true;
    },
  }),
  removeCalendarDay: t.boolean({
    authScopes: { loggedIn: true },
    args: { day: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await removeCalendarDay(ctx.db, caller(ctx), args.day);
      return true;
    },
  }),
}));
