"""tocsin: an open early-warning and crisis-management system for public hazards.

tocsin monitors aggregate indicators of hazards (notifiable-disease counts, prices,
supply levels, environmental readings), never individual people.
"""

__version__ = "0.1.0"
