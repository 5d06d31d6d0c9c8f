"""SMS through Twilio: a signed webhook that stores what arrives, a decoder, a sender that
wraps the Twilio SDK, and the texting rules (GSM-7, segments, opt-out words, quiet hours).

The appointment texts themselves live in `actions/appointments/`; see docs/sms.md.
"""
