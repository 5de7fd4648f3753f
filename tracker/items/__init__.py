"""The items of a request: what it asks for, one numbered item each, and how each is answered.

The pages live in ``tracker.items.routes`` (its blueprint ``bp``), imported by the app
factory: the models are needed long before, by every module that reads a request.
"""
