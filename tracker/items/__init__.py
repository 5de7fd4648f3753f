"""The items of a request: what it asks for, one numbered item each, and how each is answered."""
