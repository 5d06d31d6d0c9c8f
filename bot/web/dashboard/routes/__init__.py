"""The dashboard's routers, one per part of the dashboard; `bot.web.dashboard.views`
includes them all under /staff with the shared context bound."""
