import { describe, expect, it } from 'vitest';
import type { Workflow } from '../../lib/types';
import { anyRunning, duration, isRunning, parseRunInput, pretty, startedBy, withWorkflow } from './runs';

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
});
