import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { EventStreamParser } from './event.stream';

describe('EventStreamParser', () => {
  it('answers whole messages, keeping a message cut between chunks for the next one', () => {
    const parser = new EventStreamParser();
    assert.deepEqual(parser.push('event: snapshot\ndata: {"a"'), []);
    assert.deepEqual(parser.push(':1}\n\nevent: changes\ndata: {}\n\nevent: cha'), [
      { event: 'snapshot', data: '{"a":1}' }, { event: 'changes', data: '{}' },
    ]);
    assert.deepEqual(parser.push('nges\ndata: {"b":2}\n\n'), [{ event: 'changes', data: '{"b":2}' }]);
  });

  it('skips keepalive comments and joins several data lines, CRLF or not', () => {
    const parser = new EventStreamParser();
    assert.deepEqual(parser.push(': keepalive\n\ndata: one\r\ndata:two\r\n\r\n'), [{ event: 'message', data: 'one\ntwo' }]);
  });
});
