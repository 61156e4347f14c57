// The sections of a project (its tabs) and the screens that show them.

export type ProjectSection = 'collections' | 'pages' | 'apps' | 'workflows' | 'exports' | 'sharing';

const SECTIONS: Record<string, ProjectSection> = {
  project: 'collections',
  projectPages: 'pages',
  projectApps: 'apps',
  projectWorkflows: 'workflows',
  projectExports: 'exports',
  projectSharing: 'sharing',
};

/** The section a route shows under the project's tabs, or null for other screens. */
export function projectSection(routeName: string): ProjectSection | null {
  return SECTIONS[routeName] ?? null;
}
