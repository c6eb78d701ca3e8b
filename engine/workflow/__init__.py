"""Workflows at work: the compiled machines (`machine`), the guards, effects and dates the
workflow files name (`rules`), what they see of one firing (`event`), and their diagrams."""
