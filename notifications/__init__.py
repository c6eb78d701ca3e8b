"""Timers and reminders delivered: the claim loop (`worker`), and its channels (`email`, `webhooks`).

The rows themselves (timers, notifications, webhook deliveries) are written by
`engine.schedule` in the transaction of each change; this package only delivers them.
"""
