"""Corso's claims API: ``client.CorsoClient`` and the parts of a claim it reads (``models``)."""
