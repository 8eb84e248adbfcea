"""Notifications: their texts (:mod:`.texts`, the one place alert text is written), the
transactional outbox (:mod:`.outbox`) and the channels that deliver them
(:mod:`.channels`: e-mail, signed webhooks)."""
