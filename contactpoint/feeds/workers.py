"""Start-up for feed validation worker processes.

Kept apart from pipeline.py on purpose: a worker unpickles this function before Django is set
up, so its module must not import any models.
"""

import django


def setup() -> None:
    django.setup()
