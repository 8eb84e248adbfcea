"""Response: what an emergency-management office does once a warning is confirmed or an
event is reported -- bodies (departments) of each jurisdiction, contingency plans with
response levels I-IV inherited down the hierarchy, incidents with their timeline, and
tasks from the plans' checklists (docs/response.md)."""
