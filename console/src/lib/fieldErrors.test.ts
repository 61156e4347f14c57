import { describe, expect, it } from 'vitest';
import { messageFor, unplacedMessages } from './fieldErrors';
import { draftErrors } from '../features/collections/drafts';

describe('field errors', () => {
  const errors = { name: ['taken'], 'fields.1.values': ['needs values'], 'fields.1.name': ['bad'], 'fields.10.name': ['x'] };

  it('joins the messages of one field', () => {
    expect(messageFor({ password: ['too short', 'needs a digit'] }, 'password')).toBe('too short; needs a digit');
    expect(messageFor({}, 'x')).toBe('');
  });

  it("maps fields.N.option to the N-th draft's option", () => {
    expect(draftErrors(errors, 1)).toEqual({ values: ['needs values'], name: ['bad'] });
    expect(draftErrors(errors, 0)).toEqual({});
  });

  it('lists the messages no input shows', () => {
    expect(unplacedMessages(errors, (f) => f === 'name' || f.startsWith('fields.'))).toEqual([]);
    expect(unplacedMessages({ indexes: ['bad index'] }, () => false)).toEqual(['indexes: bad index']);
  });
});
