"""Who may do what: web password hashing and policy, sessions, login throttling."""
