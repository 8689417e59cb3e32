/** The field app's own reads: a grid worker's cells and work lists (domain/field/my-work.ts). */

import type { MyWork } from '../../domain/field/my-work';
import { myGridCells, myWork } from '../../domain/field/my-work';
import { builder } from '../builder';
import { actorOf } from '../context';
import { CaseRef } from './case';
import { GridCellRef } from './grid';

const MyWorkRef = builder.objectRef<MyWork>('MyWork').implement({
  description: "A grid worker's lists for the field app.",
  fields: (t) => ({
    assigned: t.field({
      type: [CaseRef],
      description: 'DISPATCHED or IN_PROGRESS cases assigned to you, oldest dispatch first.',
      resolve: (w) => w.assigned,
    }),
    toVerify: t.field({
      type: [CaseRef],
      description: 'RESOLVED cases in your grid cells that someone else resolved, waiting for your check.',
      resolve: (w) => w.toVerify,
    }),
    reported: t.field({
      type: [CaseRef],
      description: 'Your own reports, newest first (the latest 50).',
      resolve: (w) => w.reported,
    }),
  }),
});

builder.queryField('myGridCells', (t) =>
  t.field({
    type: [GridCellRef],
    description: 'The grid cells you answer for (grid workers), with outlines; empty for other roles.',
    authScopes: { loggedIn: true },
    resolve: (_root, _args, ctx) => myGridCells(ctx.db, actorOf(ctx)),
  }),
);

builder.queryField('myWork', (t) =>
  t.field({
    type: MyWorkRef,
    description: 'Your work lists: cases assigned to you, cases to verify in your cells, your reports.',
    authScopes: { loggedIn: true },
    resolve: (_root, _args, ctx) => myWork(ctx.db, actorOf(ctx)),
  }),
);
