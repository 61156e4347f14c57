import { describe, expect, it } from 'vitest';
import { ApiError } from '../../lib/api';
import { chatEvent, conversation, questionErrors, unavailableMessage } from './chat';

describe('the assistant chat', () => {
  it('sends the turns that went well, then the question', () => {
    const turns = [
      { role: 'user' as const, content: 'Hi' },
      { role: 'assistant' as const, content: '' },
      { role: 'user' as const, content: 'Broken', failed: true },
      { role: 'assistant' as const, content: 'Hello!' },
    ];
    expect(conversation(turns, ' What next? ')).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'What next?' },
    ]);
    const long = Array.from({ length: 50 }, (_, i) => ({ role: 'user' as const, content: `q${i}` }));
    const sent = conversation(long, 'last');
    expect(sent).toHaveLength(40);
    expect(sent.at(-1)?.content).toBe('last');
  });

  it('reads the events of the stream', () => {
    expect(chatEvent({ event: 'delta', data: '{"text":"Hel"}' })).toEqual({ kind: 'delta', text: 'Hel' });
    expect(chatEvent({ event: 'done', data: '{"tokens":12}' })).toEqual({ kind: 'done', tokens: 12 });
    expect(chatEvent({ event: 'error', data: '{"detail":"provider failed"}' })).toEqual({ kind: 'error', detail: 'provider failed' });
    expect(chatEvent({ event: 'error', data: 'garbage' })).toEqual({ kind: 'error', detail: 'The answer stopped.' });
    expect(chatEvent({ event: 'ping', data: '{}' })).toBeNull();
  });

  it('says when the server has no assistant', () => {
    expect(unavailableMessage(new ApiError(503, 'no AI provider is configured (assistant.base_url and assistant.api_key)'))).toBe(
      'The assistant is not configured on this server.',
    );
    expect(unavailableMessage(new ApiError(503, 'unavailable', {}, undefined, 'NOT_CONFIGURED'))).toBe(
      'The assistant is not configured on this server.',
    );
    expect(unavailableMessage(new ApiError(503, 'the provider failed.'))).toBe(
      'The assistant is unavailable right now (the provider failed); try again later.',
    );
    expect(unavailableMessage(new ApiError(422, 'bad'))).toBe('');
    expect(unavailableMessage(new Error('x'))).toBe('');
  });

  it('shows the refusals of the messages under the question', () => {
    expect(questionErrors({ 'messages.2.content': ['too long'], messages: ['from 1 to 40 messages'], project_id: ['x'] })).toBe(
      'too long from 1 to 40 messages',
    );
    expect(questionErrors({})).toBe('');
  });
});
