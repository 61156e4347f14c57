import { describe, expect, it } from 'vitest';
import { SseParser, readEvents } from './sse';

describe('server-sent events', () => {
  it('reads events whatever the chunks', () => {
    const parser = new SseParser();
    expect(parser.push('event: delta\ndata: {"text":"Hel')).toEqual([]);
    expect(parser.push('lo"}\n\nevent: del')).toEqual([{ event: 'delta', data: '{"text":"Hello"}' }]);
    expect(parser.push('ta\r\ndata: a\r')).toEqual([]);
    expect(parser.push('\ndata: b\r\n\r\n')).toEqual([{ event: 'delta', data: 'a\nb' }]);
  });

  it('skips comments and events without data, and defaults the type', () => {
    const parser = new SseParser();
    expect(parser.push(': keep-alive\n\nevent: ping\n\ndata:x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('keeps an event the stream ended in', () => {
    const parser = new SseParser();
    expect(parser.push('event: done\ndata: {"tokens":3}')).toEqual([]);
    expect(parser.end()).toEqual([{ event: 'done', data: '{"tokens":3}' }]);
  });

  it('reads a body to its end', async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"é"}\n\nevent: done\ndata: {}\n\n');
    // A multi-byte character split across chunks.
    const chunks = [bytes.slice(0, 29), bytes.slice(29)];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const events = [];
    for await (const event of readEvents(stream.getReader())) events.push(event);
    expect(events).toEqual([
      { event: 'delta', data: '{"text":"é"}' },
      { event: 'done', data: '{}' },
    ]);
  });
});
