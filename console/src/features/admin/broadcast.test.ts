import { describe, expect, it } from 'vitest';
import { accountWithEmail, audienceLabel, broadcastRequest, draftErrors, emptyDraft, isEmailLike, resultMessage } from './broadcast';

describe('notification broadcasts', () => {
  const draft = { ...emptyDraft(), user: 'ada@example.com', title: ' Maintenance tonight ', body: ' From 22:00 UTC. ', url: ' /status ' };

  it('check what the server checks', () => {
    expect(draftErrors(draft)).toEqual({});
    expect(draftErrors(emptyDraft())).toEqual({
      user_id: ["Enter the account's email address or id."],
      title: ['Give the notification a title.'],
    });
    expect(draftErrors({ ...draft, audience: 'everyone', user: '' })).toEqual({});
    expect(draftErrors({ ...draft, type: 'admin message' }).type).toEqual(["A type is letters, digits, '.', '_' and '-'."]);
    expect(draftErrors({ ...draft, type: 'x'.repeat(65) }).type).toEqual(['A type is at most 64 characters.']);
    expect(draftErrors({ ...draft, type: '' }).type).toEqual(['Give the notification a type.']);
    expect(draftErrors({ ...draft, title: 'x'.repeat(201) }).title).toEqual(['A title is at most 200 characters.']);
    expect(draftErrors({ ...draft, body: 'x'.repeat(5001) }).body).toHaveLength(1);
    expect(draftErrors({ ...draft, url: 'x'.repeat(2001) }).url).toHaveLength(1);
  });

  it('send exactly one audience and the trimmed message', () => {
    expect(broadcastRequest(draft, 'u1')).toEqual({
      user_id: 'u1',
      type: 'admin.message',
      title: 'Maintenance tonight',
      body: 'From 22:00 UTC.',
      url: '/status',
    });
    expect(broadcastRequest({ ...draft, audience: 'role', role: 'premium', body: '', url: '' })).toEqual({
      role: 'premium',
      type: 'admin.message',
      title: 'Maintenance tonight',
    });
    expect(broadcastRequest({ ...draft, audience: 'everyone' })).toMatchObject({ everyone: true });
    expect('user_id' in broadcastRequest({ ...draft, audience: 'everyone' })).toBe(false);
  });

  it('name the audience and read the answer', () => {
    expect(isEmailLike('ada@example.com')).toBe(true);
    expect(isEmailLike('01JABC')).toBe(false);
    const found = [
      { id: 'u2', email: 'ada.lovelace@example.com' },
      { id: 'u1', email: 'Ada@Example.com' },
    ];
    expect(accountWithEmail(found, ' ada@example.com ')).toBe('u1');
    expect(accountWithEmail(found, 'ada@example.org')).toBeNull();
    expect(audienceLabel({ ...draft, audience: 'role', role: 'premium' })).toBe('every Premium account');
    expect(resultMessage({ notified: 1, notification_id: 'n1' }, draft)).toBe('Sent to ada@example.com.');
    expect(resultMessage({ job_id: 'j1' }, { ...draft, audience: 'everyone' })).toBe(
      'Queued for every active account: a job (j1) delivers it in the next moments.',
    );
  });
});
