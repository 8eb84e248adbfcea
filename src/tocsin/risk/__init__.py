"""Risks: what could go wrong, how likely, how bad, who owns it, and what is done about it.

One module per concept:

- :mod:`~tocsin.risk.matrix`: the 5 x 5 likelihood-impact matrix of the WHO's rapid
  risk assessment and its four levels (pure);
- :mod:`~tocsin.risk.register`: the risk register -- risks per jurisdiction and domain
  (operations and assets abroad included), owner bodies, mitigation actions, review
  dates, linked indicators and plans; loaded from YAML or a table, every change audited;
- :mod:`~tocsin.risk.assessments`: joint assessment sessions where several bodies each
  record likelihood, impact, confidence and reasoning (append-only) and the agreed
  result updates the risk;
- :mod:`~tocsin.risk.composite`: the INFORM-style composite risk index (pure), and
  :mod:`~tocsin.risk.indexes`, its models and its computation from indicator values;
- :mod:`~tocsin.risk.scorecards`: preparedness scorecards of a jurisdiction and its
  siblings;
- :mod:`~tocsin.risk.queries`: what the pages and the API read.

docs/risk.md describes them for users.
"""
