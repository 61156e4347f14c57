import { describe, expect, it } from 'vitest';
import { dayOf, endOfDay } from './expiry';
import { canActOn, canEditComponents, canManage, grantableRoles, memberName, roleName } from './roles';

describe('roles', () => {
  it('names roles for people', () => {
    expect(roleName('ADMIN')).toBe('Admin');
    expect(roleName(null)).toBe('');
  });

  it('lets OWNERs and ADMINs manage, and only OWNERs touch OWNERs', () => {
    expect(canManage('OWNER')).toBe(true);
    expect(canManage('ADMIN')).toBe(true);
    expect(canManage('MEMBER')).toBe(false);
    expect(canManage(null)).toBe(false);
    expect(['OWNER', 'ADMIN', 'MEMBER'].every((r) => canEditComponents(r as 'MEMBER'))).toBe(true);
    expect(canEditComponents(null)).toBe(false);
    expect(grantableRoles('OWNER')).toEqual(['MEMBER', 'ADMIN', 'OWNER']);
    expect(grantableRoles('ADMIN')).toEqual(['MEMBER', 'ADMIN']);
    expect(grantableRoles('MEMBER')).toEqual([]);
    expect(canActOn('ADMIN', 'MEMBER')).toBe(true);
    expect(canActOn('ADMIN', 'OWNER')).toBe(false);
    expect(canActOn('OWNER', 'OWNER')).toBe(true);
    expect(canActOn('MEMBER', 'MEMBER')).toBe(false);
  });

  it('names a member, or gives their address', () => {
    expect(memberName({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@x.y' })).toBe('Ada Lovelace');
    expect(memberName({ first_name: '', last_name: ' ', email: 'ada@x.y' })).toBe('ada@x.y');
  });
});

describe('expiry', () => {
  it('ends the chosen day in local time', () => {
    const iso = endOfDay('2031-02-03');
    expect(iso).toMatch(/Z$/);
    const end = new Date(iso ?? '');
    expect([end.getFullYear(), end.getMonth(), end.getDate(), end.getHours(), end.getMinutes()]).toEqual([2031, 1, 3, 23, 59]);
  });

  it('sends nothing for no day, and other text as it is', () => {
    expect(endOfDay('  ')).toBeUndefined();
    expect(endOfDay('next week')).toBe('next week');
  });

  it('writes a local day for date inputs', () => {
    expect(dayOf(new Date(2031, 0, 9, 22, 30))).toBe('2031-01-09');
  });
});
