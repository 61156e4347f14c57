import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  allStepIds,
  codeParts,
  definitionFrom,
  draftPaths,
  errorsAt,
  fieldLabel,
  isShownField,
  kindLabel,
  moveItem,
  newStepDraft,
  newTriggerDraft,
  nextStepId,
  ownMessages,
  parseWorkflowSchema,
  retyped,
  settingMessages,
  stepDraft,
  stepErrors,
  stepFields,
  stepIds,
  stepNumber,
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
    // A loop's steps are steps (the schema's `#/$defs/step`), edited with the same forms.
    expect(stepFields(schema, 'loop').find((f) => f.name === 'steps')).toMatchObject({ kind: 'steps', required: true });
    expect(stepFields(schema, 'loop').find((f) => f.name === 'over')?.kind).toBe('any');
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

describe('steps inside loops', () => {
  const loop = {
    id: 'each',
    type: 'loop',
    over: '{{ input.books }}',
    steps: [
      { id: 'remember', type: 'set', values: { last: '{{ loop.item }}' } },
      { id: 'inner', type: 'loop', over: [1, 2], steps: [{ id: 'call', type: 'http', url: 'https://x.test' }] },
    ],
  };

  it('edits them as drafts of their own, to any depth, and sends the JSON the server expects', () => {
    const draft = stepDraft(schema, loop);
    expect(draft.values).not.toHaveProperty('steps');
    expect(draft.lists.steps?.map((d) => d.values.id)).toEqual(['remember', 'inner']);
    expect(draft.lists.steps?.[1]?.lists.steps?.[0]?.values).toMatchObject({ id: 'call', url: 'https://x.test' });
    const { definition, errors } = definitionFrom(schema, newTriggerDraft(schema, 'manual'), [draft]);
    expect(errors).toEqual({});
    expect(definition.steps).toEqual([loop]);
  });

  it('starts a new loop with no step inside, and sends the empty list for the server to refuse', () => {
    const draft = newStepDraft(schema, 'loop', []);
    expect(draft.lists).toEqual({ steps: [] });
    expect(definitionFrom(schema, newTriggerDraft(schema, 'manual'), [draft]).definition.steps[0]).toEqual({ id: 'loop_1', type: 'loop', steps: [] });
  });

  it('keeps the inner steps when a loop changes type and back', () => {
    const draft = stepDraft(schema, loop);
    const set = retyped(draft, stepFields(schema, 'set'), 'set');
    expect(set.lists).toEqual({});
    expect(retyped(draft, stepFields(schema, 'loop'), 'loop').lists.steps).toBe(draft.lists.steps);
  });

  it('counts every id, inside loops too, for a new one', () => {
    const draft = stepDraft(schema, loop);
    expect(allStepIds([draft])).toEqual(['each', 'remember', 'inner', 'call']);
    expect(stepIds([draft])).toEqual(['each']);
    expect(newStepDraft(schema, 'http', allStepIds([draft, newStepDraft(schema, 'http', ['call'])])).values.id).toBe('http_2');
  });

  it('numbers a step by where it is', () => {
    expect(stepNumber([2])).toBe('3');
    expect(stepNumber([1, 0])).toBe('2.1');
    expect(stepNumber([0, 1, 2])).toBe('1.2.3');
  });

  it('maps each draft to its server path, and refuses bad values locally under it', () => {
    const first = newStepDraft(schema, 'set', []);
    const draft = stepDraft(schema, loop);
    const inner = draft.lists.steps?.[1];
    const call = inner?.lists.steps?.[0];
    const paths = draftPaths([first, draft]);
    expect(paths.get(draft.key)).toBe('definition.steps[1]');
    expect(paths.get(inner?.key ?? 0)).toBe('definition.steps[1].steps[1]');
    expect(paths.get(call?.key ?? 0)).toBe('definition.steps[1].steps[1].steps[0]');
    if (call) call.values.retries = 'two';
    const { errors } = definitionFrom(schema, newTriggerDraft(schema, 'manual'), [first, draft]);
    expect(Object.keys(errors)).toContain('definition.steps[1].steps[1].steps[0].retries');
  });

  it("shows the server's errors at the nested step they name, even once steps moved", () => {
    const draft = stepDraft(schema, loop);
    const [remember, inner] = draft.lists.steps ?? [];
    const errors = {
      'definition.steps[0].steps[1].steps[0].url': ['url is an http or https URL (a template)'],
      'definition.steps[0].steps[1].steps': ['a loop has at least one step'],
      'definition.steps[0].steps[0].values.Bad': ['a variable name is lowercase'],
    };
    const paths = draftPaths([draft]);
    // The inner steps reordered after the errors came: each error stays with its step.
    draft.lists.steps = moveItem(draft.lists.steps ?? [], 1, 0);
    const call = inner?.lists.steps?.[0];
    expect(stepErrors(errors, paths, call?.key ?? 0)).toEqual({ url: ['url is an http or https URL (a template)'] });
    expect(stepErrors(errors, paths, remember?.key ?? 0)).toEqual({ 'values.Bad': ['a variable name is lowercase'] });
    const ofInner = stepErrors(errors, paths, inner?.key ?? 0);
    // The loop's own message goes next to its list of steps; its steps' messages stay with them.
    expect(ownMessages(ofInner, 'steps')).toBe('a loop has at least one step');
    expect(settingMessages(ofInner, 'over')).toBe('');
    // A step added since has no errors.
    expect(stepErrors(errors, paths, newStepDraft(schema, 'set', []).key)).toEqual({});
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
