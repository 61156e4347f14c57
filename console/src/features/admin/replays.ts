// Helpers of the Replays list (every page editing session on the platform): the filter form
// as the API's query, who edited, the link to the page's editor, the delete question.

import type { AdminReplay, AdminReplayFilter, Replay } from '../../lib/types';
import { DEFAULT_PER_PAGE } from './directory';

/** The filter form's values as typed. */
export interface ReplayForm {
  organizationId: string;
  perPage: string;
}

export function emptyReplayForm(): ReplayForm {
  return { organizationId: '', perPage: String(DEFAULT_PER_PAGE) };
}

/** The form as the API's filter: trimmed, empty values left out. */
export function replayFilter(form: Pick<ReplayForm, 'organizationId'>): AdminReplayFilter {
  const filter: AdminReplayFilter = {};
  const organizationId = form.organizationId.trim();
  if (organizationId) filter.organization_id = organizationId;
  return filter;
}

/** Whether the filters show a server error for `field` next to an input (the others go above the list). */
export function isReplayFilterField(field: string): boolean {
  return field === 'organization_id' || field === 'per_page';
}

/**
 * The console path of the session's page in its project's editor, whose History plays the
 * session back; null when the session names no page, or when the page is in an organization
 * the administrator is not a member of (the editor would not open it).
 */
export function pageEditorPath(
  replay: Pick<Replay, 'organization_id' | 'project_id' | 'page_id'>,
  memberOf: ReadonlySet<string>,
): string | null {
  if (!replay.project_id || !replay.page_id || !memberOf.has(replay.organization_id)) return null;
  return `/projects/${encodeURIComponent(replay.project_id)}/pages/${encodeURIComponent(replay.page_id)}`;
}

/** The accounts whose names are still unknown, once each (the platform's own sessions need none). */
/** Who edited: the platform itself, the account's name, or its id (an account that is gone). */
export function editorName(replay: Pick<AdminReplay, 'user_id' | 'user_name'>): string {
  if (replay.user_id === 'system') return 'Socle';
  return replay.user_name ?? replay.user_id;
}

/**
 * The question asked before deleting a session's replay. The server folds the page's history
 * up to the session's end into the page's starting state: the page's earlier sessions go too.
 */
export function deleteQuestion(replay: Pick<Replay, 'changes' | 'ended_at'>, editor: string): string {
  const changes = replay.changes === 1 ? '1 change' : `${replay.changes} changes`;
  const ongoing = replay.ended_at ? '' : ' It is still going on.';
  return (
    `Delete the replay of ${editor}'s session (${changes})?${ongoing} ` +
    "The page's history up to the end of this session goes, its earlier sessions with it: they can no longer be played back, " +
    'nor the page taken back to a time before. The page itself stays as it is.'
  );
}
