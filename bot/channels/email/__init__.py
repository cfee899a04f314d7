"""The email channel: campaign invitations and reminders by email, each with a personal link into the web chat."""
