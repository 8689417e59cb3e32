/** The place hierarchy: city → district → street → community. */

import { parseId } from '../../domain/cases/queries';
import { listRegions, type RegionView } from '../../domain/reference/regions';
import { builder } from '../builder';
import { PointRef, RegionLevelEnum } from './scalars';

export const RegionRef = builder.objectRef<RegionView>('Region');

RegionRef.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    level: t.field({ type: RegionLevelEnum, resolve: (r) => r.level }),
    code: t.exposeString('code'),
    name: t.exposeString('name'),
    nameEn: t.exposeString('nameEn'),
    parent: t.field({
      type: RegionRef,
      nullable: true,
      resolve: (r, _args, ctx) => (r.parentId ? ctx.loaders.regions.load(r.parentId) : null),
    }),
    centroid: t.field({
      type: PointRef,
      description: 'A label point inside the outline.',
      resolve: (r) => r.centroid,
    }),
    geometry: t.field({
      type: 'JSON',
      description: 'The outline as a GeoJSON MultiPolygon (WGS84).',
      resolve: async (r, _args, ctx) => (await ctx.loaders.regionGeometry.load(r.id))?.geometry ?? null,
    }),
  }),
});

builder.queryField('regions', (t) =>
  t.field({
    type: [RegionRef],
    description: 'Regions of a level and/or under a parent.',
    authScopes: { loggedIn: true },
    args: {
      level: t.arg({ type: RegionLevelEnum, required: false }),
      parentId: t.arg.id({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      listRegions(ctx.db, {
        level: args.level,
        parentId: args.parentId == null ? undefined : parseId(args.parentId, 'parentId'),
      }),
  }),
);
