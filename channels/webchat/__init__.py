"""The web chat channel: an embeddable widget talking to the server over a WebSocket.

- `adapter`: the registry's decoder (stored chat payload -> InboundMessage), the Sender that
  delivers outbox rows into the chat history and to open sockets, and the turn handler.
- `server`: the WebSocket endpoint, the widget script and the demo resident page.
- `assistant`: the built-in assistant that answers each message when Rasa is not configured.
- `store`, `hub`: the chat's history (resume) and the in-process push to open sockets.

See docs/webchat.md.
"""
