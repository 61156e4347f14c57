// The assistant's chat in the page editor: the conversation sent, the streamed events read,
// and what to say when the server has no assistant.

import { ApiError } from '../../lib/api';
import type { SseEvent } from '../../lib/sse';
import type { ChatMessage } from '../../lib/types';

/** The most messages the server takes in one question. */
export const MAX_MESSAGES = 40;

/** A turn as the panel shows it; `failed` ones are not sent again. */
export interface ChatTurn extends ChatMessage {
  failed?: boolean;
}

/** The conversation to send: the turns that went well, then the question, the last 40. */
export function conversation(turns: readonly ChatTurn[], question: string): ChatMessage[] {
  const kept = turns.filter((t) => !t.failed && t.content.trim() !== '').map(({ role, content }) => ({ role, content }));
  return [...kept, { role: 'user' as const, content: question.trim() }].slice(-MAX_MESSAGES);
}

export type ChatEvent = { kind: 'delta'; text: string } | { kind: 'done'; tokens: number | null } | { kind: 'error'; detail: string };

function json(data: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** An event of the stream: a piece of the answer, its end, or its failure (null for others). */
export function chatEvent(event: SseEvent): ChatEvent | null {
  const body = json(event.data);
  switch (event.event) {
    case 'delta':
      return { kind: 'delta', text: typeof body.text === 'string' ? body.text : '' };
    case 'done':
      return { kind: 'done', tokens: typeof body.tokens === 'number' ? body.tokens : null };
    case 'error':
      return { kind: 'error', detail: typeof body.detail === 'string' && body.detail ? body.detail : 'The answer stopped.' };
    default:
      return null;
  }
}

/** The sentence for a server without a (working) assistant, or '' for other failures. */
export function unavailableMessage(error: unknown): string {
  if (!(error instanceof ApiError) || error.status !== 503) return '';
  if (error.code === 'NOT_CONFIGURED' || /\bno(t)?\b.*\bconfigured\b/i.test(error.message)) {
    return 'The assistant is not configured on this server.';
  }
  const detail = error.message.replace(/\.$/, '');
  return `The assistant is unavailable right now (${detail}); try again later.`;
}

/** The server's refusals of the messages (too long, empty…), shown under the question. */
export function questionErrors(fields: Record<string, string[]>): string {
  return Object.entries(fields)
    .filter(([field]) => field === 'messages' || field.startsWith('messages.'))
    .flatMap(([, messages]) => messages)
    .join(' ');
}
