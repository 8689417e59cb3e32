/** Handling departments. */
import { type DepartmentView, listDepartments } from '../../domain/reference/departments';
import { builder } from '../builder';

export const DepartmentRef = builder.objectRef<DepartmentView>('Department').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code'),
    name: t.exposeString('name'),
    nameEn: t.exposeString('nameEn'),
    phone: t.exposeString('phone', { nullable: true }),
  }),
});

builder.queryField('departments', (t) =>
  t.field({
    type: [DepartmentRef],
    authScopes: { loggedIn: true },
    resolve: (_root, _args, ctx) => listDepartments(ctx.db),
  }),
);
