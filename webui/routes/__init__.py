"""One module per area; each has `register(app)` adding its routes with their permission."""
