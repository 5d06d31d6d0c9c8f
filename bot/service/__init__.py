"""The service layer: handlers that turn stored messages into interactions, clocks and replies."""
