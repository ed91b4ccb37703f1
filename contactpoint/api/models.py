"""No models: the module exists so Django sends this app `post_migrate` (it skips apps without a
models module), which creates the database cache's table (apps.py)."""
