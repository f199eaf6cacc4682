"""Staff accounts: agents, admins and merchant users, their sign-in and their sessions."""
