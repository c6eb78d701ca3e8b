"""Amendments: numbered changes to a signed agreement, signed by its parties and then merged."""
