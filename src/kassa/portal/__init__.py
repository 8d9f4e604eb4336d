"""The member portal: phone-first pages (and their API) where members log in with an SMS
code or a password and see their card, orders and data, without a staff login."""
