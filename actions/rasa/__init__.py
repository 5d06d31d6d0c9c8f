"""Doorstep's custom actions for Rasa (served by `rasa run actions --actions actions.rasa`).

These run inside Rasa's own Python 3.10 environment (pydantic 1, SQLAlchemy 1.4), so they
never import Doorstep's core: every effect goes through Doorstep's assistant API over HTTP
(bot/web/assistant_api.py), with the standard library's HTTP client only.
Configuration (environment): DOORSTEP_URL (default http://127.0.0.1:8000) and
DOORSTEP_API_TOKEN (the same token as Doorstep's DOORSTEP_API_TOKEN).
"""
