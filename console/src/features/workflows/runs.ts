// A workflow's executions for people: which are still going, a run's input, durations and
// the values a step saw and answered.

import type { Execution, Workflow, WorkflowDefinition } from '../../lib/types';

/** Whether an execution still has work to do (the list is then polled). */
export function isRunning(status: Execution['status'] | string): boolean {
  return status === 'queued' || status === 'running' || status === 'waiting';
}

export function anyRunning(items: ReadonlyArray<Pick<Execution, 'status'>>): boolean {
  return items.some((e) => isRunning(e.status));
}

/** The input of a run by hand: a JSON object ('' is `{}`), or why not. */
export function parseRunInput(text: string): { input: Record<string, unknown> } | { error: string } {
  const trimmed = text.trim();
  if (!trimmed) return { input: {} };
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { input: value as Record<string, unknown> };
  } catch {
    // Said below.
  }
  return { error: 'Enter a JSON object, e.g. {"name": "Ada"}.' };
}

/** `850` → `850 ms`, `1234` → `1.2 s`, `65000` → `1 min 5 s` ('' when unknown). */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

/** A value a step saw or answered, indented ('' for none). */
export function pretty(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** `by hand`, `by a record change`: what started an execution. */
export function startedBy(execution: Pick<Execution, 'trigger_type' | 'rerun_of'>): string {
  const how: Record<string, string> = {
    manual: 'by hand',
    record: 'by a record change',
    project: 'by a project event',
    schedule: 'by the schedule',
    webhook: 'by a webhook call',
  };
  const what = how[execution.trigger_type] ?? execution.trigger_type;
  return execution.rerun_of ? `${what} (rerun)` : what;
}

/** The list with `workflow` in place of the one of the same id. */
export function withWorkflow(items: Workflow[], workflow: Workflow): Workflow[] {
  return items.map((w) => (w.id === workflow.id ? workflow : w));
}

/** Whether an execution can still be stopped (queued, running or waiting). */
export function canCancel(execution: Pick<Execution, 'status'>): boolean {
  return isRunning(execution.status);
}

/** Whether a failed execution can resume at its failed step. */
export function canRetry(execution: Pick<Execution, 'status' | 'position'>): boolean {
  return execution.status === 'failed' && execution.position !== null;
}

/** Whether an execution can run again from the start, as a new one (once finished). */
export function canRerun(execution: Pick<Execution, 'status'>): boolean {
  return !isRunning(execution.status);
}

/** `Run by hand · 2 steps: set, http` — what a saved definition does. */
export function definitionSummary(definition: WorkflowDefinition, triggerLabel: (type: string) => string): string {
  const steps = definition.steps ?? [];
  const types = steps.map((s) => (typeof s.type === 'string' ? s.type : '?'));
  const count = `${steps.length} ${steps.length === 1 ? 'step' : 'steps'}`;
  return `${triggerLabel(definition.trigger?.type ?? '')} · ${types.length ? `${count}: ${types.join(', ')}` : count}`;
}

/** The executions with `updated` in place (first when new: a rerun). */
export function withExecution(items: Execution[], updated: Execution): Execution[] {
  return items.some((e) => e.id === updated.id) ? items.map((e) => (e.id === updated.id ? updated : e)) : [updated, ...items];
}
