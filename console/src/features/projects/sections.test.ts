import { describe, expect, it } from 'vitest';
import { projectSection } from './sections';

describe('project sections', () => {
  it('maps the tabbed screens to their section', () => {
    expect(projectSection('project')).toBe('collections');
    expect(projectSection('projectExports')).toBe('exports');
    expect(projectSection('projectSharing')).toBe('sharing');
    expect(projectSection('projectWorkflows')).toBe('workflows');
    expect(projectSection('workflow')).toBeNull();
    expect(projectSection('pageEditor')).toBeNull();
  });
});
