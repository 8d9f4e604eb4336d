"""Notifications: message templates, the message log, SMS/e-mail providers, OTP codes."""
