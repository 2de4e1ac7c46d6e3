// The home page has no behaviour of its own.
