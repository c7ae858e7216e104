"""Trial backends beyond Syne Tune's own (imported lazily: optional extras)."""
