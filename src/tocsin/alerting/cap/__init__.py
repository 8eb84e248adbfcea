"""OASIS CAP 1.2: the message format (:mod:`.message`: build, validate, read), tocsin's
messages of alert transitions (:mod:`.render`), the Atom feed (:mod:`.atom`, :mod:`.feed`)
and the import of other agencies' messages (:mod:`.importer`)."""
