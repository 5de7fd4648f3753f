"""Publishing requests and their released documents in the public records room."""
