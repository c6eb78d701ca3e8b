"""The directory: organisations and people (`service`), their bearer tokens (`tokens`), and
signing in to the pages (`signin`)."""
