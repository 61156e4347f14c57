import { describe, expect, it } from 'vitest';
import { orgSection, orgSectionPath, sameSectionOf } from './sections';

describe('organization sections', () => {
  it('maps the tabbed screens to their section and back', () => {
    expect(orgSection('orgMembers')).toBe('members');
    expect(orgSection('orgFiles')).toBe('files');
    expect(orgSection('orgVerification')).toBe('verification');
    expect(orgSection('orgComponents')).toBe('components');
    expect(orgSection('orgComponentNew')).toBe('components');
    expect(orgSection('orgComponent')).toBe('components');
    expect(orgSectionPath('o1', 'components')).toBe('/organizations/o1/components');
    expect(orgSection('organizations')).toBeNull();
    expect(orgSectionPath('o 1', 'apiKeys')).toBe('/organizations/o%201/api-keys');
  });

  it('keeps the section when another organization is chosen', () => {
    expect(sameSectionOf('/organizations/o1/files', 'o2')).toBe('/organizations/o2/files');
    expect(sameSectionOf('/organizations/o1/api-keys', 'o2')).toBe('/organizations/o2/api-keys');
    expect(sameSectionOf('/organizations/o1/verification', 'o2')).toBe('/organizations/o2/verification');
    expect(sameSectionOf('/organizations/o1/other', 'o2')).toBeNull();
    expect(sameSectionOf('/organizations/o1/components', 'o2')).toBe('/organizations/o2/components');
    expect(sameSectionOf('/organizations/o1/components/c1', 'o2')).toBe('/organizations/o2/components');
    expect(sameSectionOf('/projects', 'o2')).toBeNull();
    expect(sameSectionOf('/organizations/o1/files', '')).toBeNull();
  });
});
