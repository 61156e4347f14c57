import { describe, expect, it } from 'vitest';
import { displayName, nameForm, passwordProblems, profileUpdate } from './profile';

const ada = { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' };

describe('profile', () => {
  it('sends only the names that changed, trimmed', () => {
    expect(profileUpdate(nameForm(ada), ada)).toEqual({});
    expect(profileUpdate({ first_name: ' Augusta Ada ', last_name: 'Lovelace' }, ada)).toEqual({ first_name: 'Augusta Ada' });
    expect(profileUpdate({ first_name: 'Ada', last_name: '' }, ada)).toEqual({ last_name: '' });
  });

  it('checks the new password before sending it', () => {
    expect(passwordProblems('old-password-1', 'New-password-42', 'New-password-42')).toEqual({});
    expect(passwordProblems('', '', '')).toEqual({ current_password: 'Enter your current password.', new_password: 'Choose a new password.' });
    expect(passwordProblems('same', 'same', 'same').new_password).toContain('differ');
    expect(passwordProblems('old', 'New-password-42', 'New-password-43').again).toContain('differ');
  });

  it('names the builder', () => {
    expect(displayName(ada)).toBe('Ada Lovelace');
    expect(displayName({ ...ada, first_name: '', last_name: '' })).toBe('ada@example.com');
  });
});
