"""Search spaces: Syne Tune domains and ConfigSpace spaces, their conditions,
and their encoding on the unit cube for the surrogate."""
