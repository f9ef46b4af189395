import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SseParser } from "../../dashboard/src/events.js";

/** The dashboard reads the event stream with fetch, so it parses the event-stream format itself. */
describe("the dashboard's event-stream parser", () => {
  function parse(...chunks: string[]) {
    const messages: { event: string; data: string }[] = [];
    const parser = new SseParser((message) => messages.push(message));
    for (const chunk of chunks) parser.push(chunk);
    return { messages, parser };
  }

  it("reads typed events, their ids and the retry delay, and skips heartbeats", () => {
    const { messages, parser } = parse('retry: 2000\n\n: heartbeat\n\nid: 7\nevent: deposit.confirmed\ndata: {"seq":7}\n\n');
    assert.deepEqual(messages, [{ event: "deposit.confirmed", data: '{"seq":7}' }]);
    assert.equal(parser.lastEventId, "7");
    assert.equal(parser.retryMs, 2000);
  });

  it("joins lines split across chunks, CRLF split between chunks included", () => {
    const { messages } = parse("id: 1\r\nevent: transfer.po", "sted\r", '\ndata: {"a":', "1}\r\n\r\n");
    assert.deepEqual(messages, [{ event: "transfer.posted", data: '{"a":1}' }]);
  });

  it("joins several data lines with newlines and names an untyped event 'message'", () => {
    const { messages } = parse("data: one\ndata: two\n\n");
    assert.deepEqual(messages, [{ event: "message", data: "one\ntwo" }]);
  });

  it("drops a half-received event on reset but keeps the last id for resuming", () => {
    const { messages, parser } = parse("id: 3\nevent: bet.placed\ndata: {}\n\nid: 4\nevent: win.cre");
    assert.equal(parser.lastEventId, "3", "an event not yet complete does not count as seen");
    parser.reset();
    parser.push("id: 4\nevent: win.credited\ndata: {}\n\n");
    assert.deepEqual(
      messages.map((message) => message.event),
      ["bet.placed", "win.credited"],
    );
    assert.equal(parser.lastEventId, "4");
  });
});
