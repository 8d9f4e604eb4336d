"""What Kassa sends, as staff see it: messages given up on (a receipt, an SMS, a provider
call), sent again with one tap, and waiting messages cancelled."""
