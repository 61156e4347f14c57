import { describe, expect, it } from 'vitest';
import type { Execution, Workflow } from '../../lib/types';
import {
  anyRunning,
  canCancel,
  canRerun,
  canRetry,
  definitionSummary,
  duration,
  isRunning,
  parseRunInput,
  pretty,
  startedBy,
  withExecution,
  withWorkflow,
} from './runs';

describe('workflow runs', () => {
  it('knows which executions are still going', () => {
    expect(isRunning('waiting')).toBe(true);
    expect(isRunning('cancelled')).toBe(false);
    expect(anyRunning([{ status: 'succeeded' }, { status: 'queued' }])).toBe(true);
    expect(anyRunning([{ status: 'failed' }])).toBe(false);
  });

  it('reads the input of a run by hand', () => {
    expect(parseRunInput('')).toEqual({ input: {} });
    expect(parseRunInput(' {"name": "Ada"} ')).toEqual({ input: { name: 'Ada' } });
    expect(parseRunInput('[1]')).toHaveProperty('error');
    expect(parseRunInput('{nope')).toHaveProperty('error');
  });

  it('writes durations and values for people', () => {
    expect(duration(null)).toBe('');
    expect(duration(850)).toBe('850 ms');
    expect(duration(1234)).toBe('1.2 s');
    expect(duration(65_000)).toBe('1 min 5 s');
    expect(duration(120_000)).toBe('2 min');
    expect(pretty(null)).toBe('');
    expect(pretty('text')).toBe('text');
    expect(pretty({ a: 1 })).toBe('{\n  "a": 1\n}');
  });

  it('says what started an execution', () => {
    expect(startedBy({ trigger_type: 'manual', rerun_of: null })).toBe('by hand');
    expect(startedBy({ trigger_type: 'schedule', rerun_of: 'x' })).toBe('by the schedule (rerun)');
  });

  it('replaces a workflow in a list', () => {
    const a = { id: 'a', enabled: true } as Workflow;
    const b = { id: 'b', enabled: true } as Workflow;
    expect(withWorkflow([a, b], { ...b, enabled: false }).map((w) => w.enabled)).toEqual([true, false]);
  });

  it('offers the actions an execution allows', () => {
    expect(canCancel({ status: 'waiting' })).toBe(true);
    expect(canCancel({ status: 'succeeded' })).toBe(false);
    expect(canRetry({ status: 'failed', position: { step: 'call' } })).toBe(true);
    expect(canRetry({ status: 'failed', position: null })).toBe(false);
    expect(canRetry({ status: 'cancelled', position: { step: 'call' } })).toBe(false);
    expect(canRerun({ status: 'failed' })).toBe(true);
    expect(canRerun({ status: 'running' })).toBe(false);
  });

  it('summarises a saved definition', () => {
    const label = (t: string) => (t === 'manual' ? 'Run by hand' : t);
    expect(definitionSummary({ trigger: { type: 'manual' }, steps: [{ type: 'set' }, { type: 'http' }] }, label)).toBe(
      'Run by hand · 2 steps: set, http',
    );
    expect(definitionSummary({ trigger: { type: 'webhook' }, steps: [] }, label)).toBe('webhook · 0 steps');
  });

  it('puts a rerun first and an updated execution in place', () => {
    const run = (id: string, status: Execution['status'] = 'succeeded') => ({ id, status }) as Execution;
    expect(withExecution([run('a'), run('b')], run('c', 'queued')).map((e) => e.id)).toEqual(['c', 'a', 'b']);
    expect(withExecution([run('a'), run('b')], run('b', 'cancelled'))[1]?.status).toBe('cancelled');
  });
});
