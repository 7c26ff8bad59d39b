"""The operator console: the admin API (`api*.py`), its authentication (`auth.py`) and the
dashboard's pages (`pages*.py`), on one Starlette app built by `app.build_admin_app`."""
