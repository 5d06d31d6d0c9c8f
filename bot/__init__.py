"""Doorstep core: domain model, service layer, storage, outbox, web app, CLI and wiring."""
