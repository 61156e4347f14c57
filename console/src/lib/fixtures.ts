// Shapes the unit tests share.

import type { Collection } from './types';

export const posts: Collection = {
  id: 'pbc_1',
  name: 'posts',
  type: 'base',
  system: false,
  fields: [
    { id: 't1', name: 'title', type: 'text', required: true, max: 200 },
    { id: 's1', name: 'tag', type: 'select', values: ['a', 'b'], maxSelect: 2 },
    { id: 'f1', name: 'cover', type: 'file', maxSelect: 1 },
    { id: 'id', name: 'id', type: 'text', system: true, primaryKey: true },
    { id: 'c', name: 'created', type: 'autodate', onCreate: true },
  ],
  listRule: '',
  viewRule: null,
  createRule: "@request.auth.id != ''",
  updateRule: null,
  deleteRule: null,
};
