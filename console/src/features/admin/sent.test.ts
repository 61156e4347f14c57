import { describe, expect, it } from 'vitest';
import { DELIVERY_POLLS, anyDelivering, recipientsLabel, sentAudience, sentBy, shouldPoll } from './sent';

describe('the sent notifications', () => {
  it('says who each went to', () => {
    expect(sentAudience({ audience: 'user', audience_value: 'ada@example.com' })).toBe('ada@example.com');
    expect(sentAudience({ audience: 'user', audience_value: null })).toBe('One account');
    expect(sentAudience({ audience: 'role', audience_value: 'premium' })).toBe('Every Premium account');
    expect(sentAudience({ audience: 'role', audience_value: null })).toBe('Everyone with a role');
    expect(sentAudience({ audience: 'everyone', audience_value: null })).toBe('Everyone');
  });

  it('says who sent it, by address when known', () => {
    expect(sentBy({ sent_by: 'u1', sent_by_email: 'admin@example.com' })).toBe('admin@example.com');
    expect(sentBy({ sent_by: 'u1', sent_by_email: null })).toBe('u1');
  });

  it('counts the recipients, delivering while unknown', () => {
    expect(recipientsLabel(null)).toBe('delivering…');
    expect(recipientsLabel(0)).toBe('0 recipients');
    expect(recipientsLabel(1)).toBe('1 recipient');
    expect(recipientsLabel(1204)).toBe('1,204 recipients');
  });

  it('reads the list again a few times while one is delivering', () => {
    const delivering = [{ recipients: 3 }, { recipients: null }];
    const delivered = [{ recipients: 3 }, { recipients: 0 }];
    expect(anyDelivering(delivering)).toBe(true);
    expect(anyDelivering(delivered)).toBe(false);
    expect(anyDelivering([])).toBe(false);
    expect(shouldPoll(delivering, 0)).toBe(true);
    expect(shouldPoll(delivering, DELIVERY_POLLS - 1)).toBe(true);
    expect(shouldPoll(delivering, DELIVERY_POLLS)).toBe(false);
    expect(shouldPoll(delivered, 0)).toBe(false);
  });
});
