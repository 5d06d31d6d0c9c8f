"""The web app: health, JSON API for staff tools, webhooks and (later) the dashboard."""
