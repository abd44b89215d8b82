"""Call costs: price lists imported from CSV, one per trunk, and the cost of each call."""
