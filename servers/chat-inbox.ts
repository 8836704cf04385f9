/**
 * The chat workload's upstream on the server (lib/workloads.ts `chat`): what a client sends, checked,
 * numbered in its room's stream and published to every member of the room, the sender included.
 * Every transport hands a sent message to the one inbox: `POST /send` (servers/chat-send.ts) for the HTTP
 * rows, a text message on the WebSocket, a `send` event with an acknowledgement on Socket.IO.
 */

/** Where a sent message went: its room's stream and the seq it got there. */
export interface ChatAccepted {
  readonly stream: number
  readonly seq: number
}

export interface ChatInbox {
  /**
   * Takes one message as the client sent it, the JSON `{"room":r,"from":c,"id":n,"ts":T,"pad":"..."}`,
   * and publishes it on stream `room` (servers/feed.ts) as `{"seq":S,"room":...}`: serialised once, the
   * same bytes for every member. Throws PbOptionError naming the bad field (`room`, `from`, `id`, `ts`,
   * or `body` when it is not such an object); a transport answers that with a 400 (or its own refusal)
   * and keeps the connection.
   */
  accept(body: Buffer): ChatAccepted
}
