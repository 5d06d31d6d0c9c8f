"""Social media: Facebook Messenger, Instagram direct messages, public comments on the Page's
posts and the Instagram account's media (one Meta webhook), and X direct messages and
mentions (optional, off by default).

The webhook checks the provider's signature over the raw body before anything is parsed,
stores each event raw (idempotent on the message or comment id) and returns; the pipeline
decides what to say (SOCIAL, SAME-CHANNEL in ../shared/domain.md).
"""
