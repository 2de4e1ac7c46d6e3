"""Gasless actions: forward requests and permits a user signs, and the relayer core that
sponsors, sends and follows them (see `core`)."""
