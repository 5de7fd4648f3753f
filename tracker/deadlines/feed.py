"""Each person's calendar feed of deadlines, behind a secret address they can renew or revoke."""
