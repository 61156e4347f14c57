import { describe, expect, it } from 'vitest';
import { secretNameProblem, secretReference, secretValueProblem, withSecret } from './secrets';

describe('workflow secrets', () => {
  it('accept the names the server accepts', () => {
    expect(secretNameProblem('API_KEY')).toBe('');
    expect(secretNameProblem('A')).toBe('');
    expect(secretNameProblem('GITHUB_SECRET_2')).toBe('');
    expect(secretNameProblem('')).toBe('Give the secret a name.');
    for (const bad of ['api_key', '1TOKEN', '_KEY', 'API-KEY', 'API KEY', 'X'.repeat(65)]) {
      expect(secretNameProblem(bad)).toMatch(/capitals, digits and _/);
    }
  });

  it('take values of 1 byte to 8 KiB', () => {
    expect(secretValueProblem('sk-1')).toBe('');
    expect(secretValueProblem('')).toBe('Enter the value.');
    expect(secretValueProblem('é'.repeat(4096))).toBe('');
    expect(secretValueProblem('é'.repeat(4097))).toMatch(/at most 8192 bytes/);
  });

  it('are referred to in templates and listed by name', () => {
    expect(secretReference('API_KEY')).toBe('{{ secrets.API_KEY }}');
    const info = (name: string, updated_at = 't1') => ({ name, created_by: 'u', created_at: 't0', updated_at });
    const list = [info('B'), info('D')];
    expect(withSecret(list, info('C')).map((s) => s.name)).toEqual(['B', 'C', 'D']);
    expect(withSecret(list, info('B', 't2'))).toEqual([info('B', 't2'), info('D')]);
  });
});
