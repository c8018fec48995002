"""One module per endpoint family; `table.py` lists them all."""
