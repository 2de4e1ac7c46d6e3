"""Keys and accounts."""
