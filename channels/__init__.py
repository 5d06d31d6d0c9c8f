"""Channel adapters: each turns a provider's events into `InboundMessage` and sends replies back."""
