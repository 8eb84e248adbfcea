"""What the JSON API (``web/api``) and the pages (``web/pages``) share: identifiers in
paths, the caller's scope applied to one object or a subtree, and the views of alerts,
incidents, series and uploads that both show.

Pages import from here, never from ``web.api``; both call services and queries only
(``tests/unit/test_architecture.py``).
"""
