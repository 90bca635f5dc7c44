/**
 * Server-sent events read from a fetch body (the watch stream sends them; EventSource cannot carry
 * an Authorization header, so the dashboard reads the stream itself). Feed it text as it arrives;
 * it answers the complete messages so far and keeps the rest for the next chunk. Comment lines
 * (`: keepalive`) and fields other than `event` and `data` are skipped, as the standard says.
 */
export interface StreamMessage {
  event: string;
  data: string;
}

export class EventStreamParser {
  private buffered = '';

  push(text: string): StreamMessage[] {
    this.buffered += text.replace(/\r\n?/g, '\n');
    const messages: StreamMessage[] = [];
    let end: number;
    while ((end = this.buffered.indexOf('\n\n')) >= 0) {
      const block = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      const message = parseBlock(block);
      if (message) messages.push(message);
    }
    return messages;
  }
}

function parseBlock(block: string): StreamMessage | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? undefined : { event, data: data.join('\n') };
}
