/** Imports every type file (each registers itself on the builder) and builds the schema. */
import { builder } from '../builder';
import './scalars';
import './department';
import './category';
import './region';
import './user';
import './grid';
import './case';
import './sensor';
import './alarm';
import './admin';
import './evaluation';
import './dispatch';
import './position';
import './field';

export const schema = builder.toSchema({ sortSchema: true });
