"""Reserves of emergency supplies: what an agency keeps in store for a crisis.

One module per concept, after Sahana Eden's inventory module (warehouses, items, a
ledger of stock movements):

- :mod:`~tocsin.reserves.catalogue`: the items (code, names, category, unit, shelf life);
- :mod:`~tocsin.reserves.depots`: where stock is kept, per jurisdiction;
- :mod:`~tocsin.reserves.ledger`: lots and the append-only ledger of movements (receipt,
  dispatch, transfer, rotation, write-off, count adjustment); balances are sums of it;
- :mod:`~tocsin.reserves.dispatch`: taking stock out, first-expiry-first-out, never below
  zero, also under concurrent writers;
- :mod:`~tocsin.reserves.counts`: stock counts from a table become count adjustments;
- :mod:`~tocsin.reserves.minimums`: minimum reserve levels, coverage and the alerts of
  kind ``reserve`` raised through :mod:`tocsin.alerting`.

docs/reserves.md describes them for users.
"""
