/** Case categories: 部件 and 事件 with major/minor codes. */
import { type CategoryView, listCategories } from '../../domain/reference/categories';
import { builder } from '../builder';
import { DepartmentRef } from './department';
import { CasePriorityEnum, CategoryKindEnum } from './scalars';

export const CategoryRef = builder.objectRef<CategoryView>('Category').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code', { description: '`<major>-<minor>`, e.g. `01-05`.' }),
    name: t.exposeString('name'),
    nameEn: t.exposeString('nameEn'),
    kind: t.field({ type: CategoryKindEnum, resolve: (c) => c.kind }),
    majorCode: t.exposeString('majorCode'),
    majorName: t.exposeString('majorName'),
    majorNameEn: t.exposeString('majorNameEn'),
    minorCode: t.exposeString('minorCode'),
    keywords: t.exposeStringList('keywords'),
    defaultPriority: t.field({ type: CasePriorityEnum, resolve: (c) => c.defaultPriority }),
    department: t.field({
      type: DepartmentRef,
      nullable: true,
      description: 'The department cases of this category usually go to.',
      resolve: (c, _args, ctx) =>
        c.defaultDepartmentId ? ctx.loaders.departments.load(c.defaultDepartmentId) : null,
    }),
  }),
});

builder.queryField('categories', (t) =>
  t.field({
    type: [CategoryRef],
    authScopes: { loggedIn: true },
    resolve: (_root, _args, ctx) => listCategories(ctx.db),
  }),
);
