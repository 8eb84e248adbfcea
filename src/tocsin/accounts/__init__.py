"""Accounts of tocsin's own users: passwords, roles on jurisdiction subtrees, API tokens,
browser sessions, login throttling.

The only people in tocsin's database are its users; nothing here describes anyone else.
"""
