"""Agreements: snapshot, policy, actions, change sets, the one way in (`service.apply`), reading."""
