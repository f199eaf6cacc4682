"""Automation: a store's ordered rules that resolve, deny, ask, tag, assign or hold a newly
filed request, within limits no rule can pass, through the same resolution service as an
agent's click (``portal.support.actions``)."""

EVALUATE_JOB = "automation.evaluate"
"""Queued when a request is filed: the store's rules judge it (``portal.automation.jobs``)."""
