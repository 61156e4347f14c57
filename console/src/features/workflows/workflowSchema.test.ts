import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  codeParts,
  definitionFrom,
  errorsAt,
  fieldLabel,
  isShownField,
  kindLabel,
  moveItem,
  newStepDraft,
  newTriggerDraft,
  nextStepId,
  parseWorkflowSchema,
  retyped,
  settingMessages,
  stepDraft,
  stepFields,
  stepIds,
  triggerDraft,
} from './workflowSchema';

// The schema the server publishes: the editor's forms are generated from it.
const published: unknown = JSON.parse(
  readFileSync(new URL('../../../../crates/automation/src/workflows/workflow.schema.json', import.meta.url), 'utf8'),
);
const schema = parseWorkflowSchema(published);

describe('the workflow schema', () => {
  it('lists the trigger and step types', () => {
    expect(schema.triggers.map((t) => t.type)).toEqual(['manual', 'record', 'project', 'schedule', 'webhook']);
    expect(schema.steps.map((s) => s.type)).toContain('http');
    expect(schema.common.map((f) => f.name)).toEqual(['id', 'name', 'next', 'timeout_secs']);
    expect(schema.common.find((f) => f.name === 'id')?.required).toBe(true);
  });

  it('describes the settings of each type', () => {
    const http = stepFields(schema, 'http');
    const url = http.find((f) => f.name === 'url');
    expect(url).toMatchObject({ kind: 'text', required: true });
    // Choices that differ only by case are offered once.
    expect(http.find((f) => f.name === 'method')).toMatchObject({ kind: 'enum', options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] });
    expect(http.find((f) => f.name === 'headers')?.kind).toBe('json');
    expect(http.find((f) => f.name === 'body')?.kind).toBe('any');
    expect(http.find((f) => f.name === 'retries')).toMatchObject({ kind: 'integer', minimum: 0, maximum: 10 });
    expect(http.find((f) => f.name === 'fail_on_error')?.kind).toBe('boolean');
    const record = schema.triggers.find((t) => t.type === 'record')?.fields ?? [];
    expect(record.find((f) => f.name === 'events')).toMatchObject({ kind: 'multienum', options: ['created', 'updated', 'deleted'] });
    expect(record.filter((f) => f.required).map((f) => f.name)).toEqual(['app_id', 'collection']);
    expect(schema.triggers.find((t) => t.type === 'manual')?.fields).toEqual([]);
    expect(stepFields(schema, 'email').find((f) => f.name === 'body')?.kind).toBe('longtext');
    expect(stepFields(schema, 'loop').find((f) => f.name === 'steps')?.kind).toBe('any');
  });

  it('shows the code in its description', () => {
    expect(codeParts('a `next` jump, or `end`')).toEqual([
      { text: 'a ', code: false },
      { text: 'next', code: true },
      { text: ' jump, or ', code: false },
      { text: 'end', code: true },
    ]);
  });

  it('survives a schema it does not understand', () => {
    expect(parseWorkflowSchema(null)).toEqual({ description: '', triggers: [], steps: [], common: [] });
  });

  it('names settings and types for people', () => {
    expect(fieldLabel('timeout_secs')).toBe('Timeout (seconds)');
    expect(fieldLabel('collection')).toBe('Collection');
    expect(fieldLabel('notification_type')).toBe('Notification type');
    expect(kindLabel('http')).toBe('HTTP request');
    expect(kindLabel('record')).toBe('Write a record');
    expect(kindLabel('record', 'trigger')).toBe('A record changes');
    expect(kindLabel('teleport')).toBe('Teleport');
  });
});

describe('workflow drafts', () => {
  it('round-trips a definition, keeping what no input shows', () => {
    const trigger = triggerDraft(schema, { type: 'record', app_id: 'a1', collection: 'books', events: ['created'] });
    const steps = [
      stepDraft(schema, { id: 'call', type: 'http', method: 'POST', url: 'https://x.test', body: { a: 1 }, retries: 2, fail_on_error: false, note: 'kept' }),
      stepDraft(schema, { id: 'wait', type: 'delay', seconds: 30 }),
    ];
    expect(steps[0]?.values).toMatchObject({ retries: '2', fail_on_error: 'false', body: '{\n  "a": 1\n}' });
    const { definition, errors } = definitionFrom(schema, trigger, steps);
    expect(errors).toEqual({});
    expect(definition).toEqual({
      trigger: { type: 'record', app_id: 'a1', collection: 'books', events: ['created'] },
      steps: [
        { note: 'kept', id: 'call', type: 'http', method: 'POST', url: 'https://x.test', body: { a: 1 }, retries: 2, fail_on_error: false },
        { id: 'wait', type: 'delay', seconds: 30 },
      ],
    });
  });

  it('starts new drafts with a free id and the first required choice', () => {
    const record = newStepDraft(schema, 'record', ['record_1']);
    expect(record.values.id).toBe('record_2');
    expect(record.values.action).toBe('create');
    expect(newTriggerDraft(schema, 'schedule').values).toEqual({ cron: '', timezone: '' });
    expect(nextStepId('set', [])).toBe('set_1');
    expect(stepIds([record, newStepDraft(schema, 'set', [])])).toEqual(['record_2', 'set_1']);
  });

  it('keeps the shared settings when the type changes', () => {
    const draft = newStepDraft(schema, 'http', []);
    draft.values.name = 'Call';
    const email = retyped(draft, stepFields(schema, 'email'), 'email');
    expect(email).toMatchObject({ key: draft.key, type: 'email', values: { id: 'http_1', name: 'Call', to: '' } });
  });

  it('sends required settings left empty, and leaves out empty optional ones', () => {
    const step = newStepDraft(schema, 'http', []);
    const set = newStepDraft(schema, 'set', ['http_1']);
    const { definition } = definitionFrom(schema, newTriggerDraft(schema, 'manual'), [step, set]);
    expect(definition.trigger).toEqual({ type: 'manual' });
    expect(definition.steps[0]).toEqual({ id: 'http_1', type: 'http', url: '' });
    expect(definition.steps[1]).toEqual({ id: 'set_1', type: 'set', values: {} });
  });

  it('refuses bad JSON and numbers locally, under the server paths', () => {
    const step = newStepDraft(schema, 'http', []);
    step.values.headers = '{nope';
    step.values.retries = '2.5';
    step.values.body = '[1,';
    const { errors } = definitionFrom(schema, newTriggerDraft(schema, 'manual'), [step]);
    expect(Object.keys(errors).sort()).toEqual(['definition.steps[0].body', 'definition.steps[0].headers', 'definition.steps[0].retries']);
    const template = newStepDraft(schema, 'http', []);
    template.values.body = '{{ steps.a.output }}';
    expect(definitionFrom(schema, newTriggerDraft(schema, 'manual'), [template]).definition.steps[0]?.body).toBe('{{ steps.a.output }}');
  });
});

describe("the server's errors", () => {
  const errors = {
    'definition.steps[2].url': ['url is required'],
    'definition.steps[2]': ['step "x": bad'],
    'definition.steps[2].values.Bad-Name': ['a variable name is lowercase'],
    'definition.steps[21].url': ['elsewhere'],
    'definition.trigger.cron': ['bad cron'],
    name: ['name is required'],
  };

  it('finds those of a step or the trigger', () => {
    expect(errorsAt(errors, 'definition.steps[2]')).toEqual({
      url: ['url is required'],
      '': ['step "x": bad'],
      'values.Bad-Name': ['a variable name is lowercase'],
    });
    expect(errorsAt(errors, 'definition.trigger')).toEqual({ cron: ['bad cron'] });
  });

  it("joins a setting's messages, its parts' included", () => {
    const step = errorsAt(errors, 'definition.steps[2]');
    expect(settingMessages(step, 'url')).toBe('url is required');
    expect(settingMessages(step, 'values')).toBe('Bad-Name: a variable name is lowercase');
    expect(settingMessages(step, 'body')).toBe('');
  });

  it('knows which errors the form shows', () => {
    expect(isShownField('name')).toBe(true);
    expect(isShownField('definition.steps[3].url')).toBe(true);
    expect(isShownField('definition')).toBe(false);
    expect(isShownField('project_id')).toBe(false);
  });
});

describe('step order', () => {
  it('moves an item', () => {
    expect(moveItem(['a', 'b', 'c'], 2, 0)).toEqual(['c', 'a', 'b']);
    expect(moveItem(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c']);
    expect(moveItem(['a', 'b'], 0, 5)).toEqual(['a', 'b']);
  });
});
