// Live changes of a collection, over the app's realtime API (PocketBase's protocol on SSE):
// the stream names the client in `PB_CONNECT`, the client then subscribes to `collection/*`
// with its credentials, and each change arrives as an event named after the topic.

/** Watch `collection` of the app `slug`; `onchange` runs at each change. Returns a stop function. */
export function watchCollection(
  slug: string,
  collection: string,
  subscribe: (clientId: string, topics: string[]) => Promise<void>,
  onchange: () => void,
): () => void {
  const topic = `${collection}/*`;
  const source = new EventSource(`/apps/${encodeURIComponent(slug)}/api/realtime`);
  // A reconnection gets a new client id: subscribe again each time.
  source.addEventListener('PB_CONNECT', (event) => {
    const clientId = clientIdOf((event as MessageEvent<string>).data);
    if (clientId) subscribe(clientId, [topic]).catch(() => source.close());
  });
  source.addEventListener(topic, () => onchange());
  return () => source.close();
}

/** The client id of a `PB_CONNECT` event's data, or null. */
export function clientIdOf(data: string): string | null {
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === 'object' && 'clientId' in parsed && typeof parsed.clientId === 'string') {
      return parsed.clientId;
    }
  } catch {
    // Not JSON: not a connection event.
  }
  return null;
}
